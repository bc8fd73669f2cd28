""""Sign in with Microsoft": off to Microsoft's sign-in page and back (hub/staff/entra.py).

Microsoft sends the browser back with a form it posts to the callback (``form_post``).
The flow msal needs then travels sealed in a cookie of its own, limited to the two paths
below: SameSite=None, because the way back is a cross-site POST, hence always Secure
(Microsoft accepts an http redirect URI only for localhost, which browsers count as
secure). Forgery gains nothing there: the flow is bound to this browser's cookie, and
msal refuses a ``state`` that is not the flow's own.

msal speaks HTTP through ``app.state.entra_http_client`` when one is set
(:data:`HTTP_CLIENT_STATE`), else through its own client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import NowDep, SessionDep
from api.web.deps import SESSION_COOKIE, cookie_secure, local_path
from api.web.pages.auth import SIGN_IN_COOKIE, sign_in_page
from api.web.render import gettext_for
from api.web.routing import web_router
from hub.errors import SourceFailed
from hub.settings import Settings
from hub.staff import entra

router = web_router()

START_PATH = "/login/microsoft"
CALLBACK_PATH = "/login/microsoft/callback"
#: The sealed flow's cookie, sent only to the two paths above.
FLOW_COOKIE = "clienthub_microsoft"
#: The ``app.state`` attribute holding the HTTP client msal speaks through.
HTTP_CLIENT_STATE = "entra_http_client"


def _http_client(request: Request) -> entra.HttpClient | None:
    client: entra.HttpClient | None = getattr(request.app.state, HTTP_CLIENT_STATE, None)
    return client


async def _posted_answer(request: Request) -> dict[str, str]:
    """The fields of the form Microsoft had the browser post back."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _refusal(request: Request, status: int, message: str,
             next_path: str = "/") -> Response:
    response = sign_in_page(request, next_path=next_path, status=status, message=message)
    _forget_flow(response)
    return response


def _forget_flow(response: Response) -> None:
    response.delete_cookie(FLOW_COOKIE, path=START_PATH, httponly=True, samesite="none",
                           secure=True)


@router.get(START_PATH)
def start_microsoft_sign_in(request: Request, at: NowDep, next: str = "/") -> Response:
    settings: Settings = request.app.state.settings
    if not settings.entra_configured:
        return RedirectResponse("/login", status_code=303)
    redirect_uri = settings.entra_redirect_uri or str(request.url_for("finish_microsoft"))
    try:
        started = entra.begin(settings, redirect_uri=redirect_uri, next_path=local_path(next),
                              now=at, http_client=_http_client(request))
    except SourceFailed:
        _ = gettext_for(request, None)
        return _refusal(request, 502, _("Microsoft's sign-in service could not be reached. "
                                        "Try again in a moment, or sign in with your "
                                        "password."), local_path(next))
    response = RedirectResponse(started.authorize_url, status_code=303)
    response.set_cookie(FLOW_COOKIE, started.sealed_flow, max_age=entra.FLOW_MINUTES * 60,
                        httponly=True, samesite="none", secure=True, path=START_PATH)
    return response


@router.post(CALLBACK_PATH, name="finish_microsoft")
def finish_microsoft_sign_in(
    request: Request, session: SessionDep, at: NowDep,
    answer: Annotated[dict[str, str], Depends(_posted_answer)],
) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.entra_configured:
        return RedirectResponse("/login", status_code=303)
    _ = gettext_for(request, None)
    try:
        finished = entra.finish(
            session, settings, sealed_flow=request.cookies.get(FLOW_COOKIE, ""),
            answer=answer, now=at,
            replacing=request.cookies.get(SESSION_COOKIE), http_client=_http_client(request))
    except entra.MicrosoftAccountRefused:
        return _refusal(request, 401, _("Your Microsoft account does not match an active "
                                        "user of Client Hub. Ask your firm's admin to add "
                                        "you with the email of that account."))
    except entra.MicrosoftSignInFailed:
        return _refusal(request, 401, _("Signing in with Microsoft did not finish, or took "
                                        "too long. Try again."))
    except SourceFailed:
        return _refusal(request, 502, _("Microsoft's sign-in service could not be reached. "
                                        "Try again in a moment, or sign in with your "
                                        "password."))
    response = RedirectResponse(local_path(finished.next_path), status_code=303)
    secure = cookie_secure(request)
    response.set_cookie(SESSION_COOKIE, finished.session_id, httponly=True, samesite="lax",
                        secure=secure)
    _forget_flow(response)
    response.delete_cookie(SIGN_IN_COOKIE, path="/login", httponly=True, samesite="strict",
                           secure=secure)
    return response
