"""Signing in and out, and the viewer's language.

The sign-in form is protected against cross-site forgery before any session exists by a
double-submitted token: a random value in a SameSite=Strict cookie of its own, which the
form sends back as ``csrf_token``. Once signed in, the session's own token takes over.
"""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import NowDep, SessionDep
from api.web.deps import CSRF_FIELD, SESSION_COOKIE, ViewerDep, cookie_secure, local_path
from api.web.render import formats_for, gettext_for, page
from api.web.routing import web_router
from hub.errors import AuthenticationFailed, TooManyAttempts
from hub.settings import Settings
from hub.staff import passwords, preferences, web_sessions
from hub.staff.preferences import LOCALES

router = web_router()

#: The sign-in form's own token (see the module docstring).
SIGN_IN_COOKIE = "clienthub_sign_in"


def sign_in_page(request: Request, *, next_path: str, email: str = "", message: str = "",
                  status: int = 200, locale: str | None = None,
                  headers: dict[str, str] | None = None) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "login.html", None, status=status, headers=headers,
                    locale=locale, next_path=next_path, email=email, message=message,
                    sign_in_token=token, chosen_locale=locale,
                    microsoft_sign_in=request.app.state.settings.entra_configured)
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="strict",
                        secure=cookie_secure(request), path="/login")
    return response


@router.get("/login")
def sign_in_form(request: Request, next: str = "/", ended: bool = False,
                 lang: str | None = None) -> Response:
    _ = gettext_for(request, None, lang)
    message = _("Your session has ended. Sign in again to continue.") if ended else ""
    return sign_in_page(request, next_path=local_path(next), message=message,
                         locale=lang if lang in LOCALES else None)


@router.post("/login")
def sign_in(
    request: Request,
    session: SessionDep,
    at: NowDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
    lang: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    lang = lang if lang in LOCALES else None
    _ = gettext_for(request, None, lang)
    settings: Settings = request.app.state.settings
    target = local_path(next)

    def again(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return sign_in_page(request, next_path=target, email=email, status=status,
                             locale=lang, message=message, headers=headers)

    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return again(403, _("The sign-in form had expired or was not sent from this site. "
                            "Sign in again."))
    try:
        session_id = passwords.sign_in(
            session, email=email, password=password,
            address=request.client.host if request.client else "unknown", now=at,
            settings=settings, replacing=request.cookies.get(SESSION_COOKIE))
    except TooManyAttempts as exc:
        formats = formats_for(request, None, lang)
        wait = max(1, math.ceil((exc.retry_at - at).total_seconds()))
        return again(429, _("Too many failed sign-ins. Try again at %(time)s (%(wait)s).") % {
            "time": formats.time(exc.retry_at), "wait": formats.from_now(exc.retry_at, at)},
            headers={"Retry-After": str(wait)})
    except AuthenticationFailed:
        return again(401, _("The email or password is wrong. Check both and try again."))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax",
                        secure=cookie_secure(request))
    response.delete_cookie(SIGN_IN_COOKIE, path="/login", httponly=True, samesite="strict",
                           secure=cookie_secure(request))
    return response


@router.post("/logout")
def sign_out(request: Request, viewer: ViewerDep, session: SessionDep) -> Response:
    web_sessions.end(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                           secure=cookie_secure(request))
    return response


@router.post("/language")
def choose_language(
    viewer: ViewerDep,
    session: SessionDep,
    locale: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    preferences.set_locale(session, viewer.principal, locale)
    return RedirectResponse(local_path(next), status_code=303)
