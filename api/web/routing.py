"""Routes of the web view answer in HTML: :class:`WebRoute` turns what a page's services
raise into the page a person can act on, where the API answers JSON.

- not signed in, or the session ended: to the sign-in page, then back (``next``);
- :class:`~hub.errors.NotFound`, or an id in the path that is no id: 404, the same page
  whether the object is missing or not the viewer's to see (as the API does);
- :class:`~hub.errors.PermissionDenied`: 403; a form without its CSRF token: 403;
- any other :class:`~hub.errors.ClientHubError`: its status, with its message;
- anything unexpected: 500 with a reference that the server's log carries.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from api.transactions import Replay, request_unit
from api.web.deps import SESSION_COOKIE, CsrfRefused, cookie_secure, local_path
from api.web.render import gettext_for, is_htmx, page
from hub.db import utcnow
from hub.errors import ClientHubError, NotFound, PermissionDenied
from hub.settings import Settings
from hub.staff import web_sessions
from hub.staff.web_sessions import SessionEnded, Viewer

log = logging.getLogger(__name__)


def sign_in_redirect(request: Request, *, ended: bool = False) -> Response:
    """To the sign-in page, which sends the viewer back here afterwards. htmx follows
    ``HX-Redirect`` with the whole page rather than swapping the sign-in page into a
    fragment."""
    back = request.headers.get("hx-current-url") if is_htmx(request) else None
    if back:
        parts = urlsplit(back)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    elif request.method == "GET":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": local_path(back)}
    if ended:
        query["ended"] = "1"
    target = "/login?" + urlencode(query)
    if is_htmx(request):
        response: Response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if ended:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax",
                               secure=cookie_secure(request))
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return page(request, "error.html", viewer, status=status, title=title, message=message)


def _not_found(request: Request) -> Response:
    _ = gettext_for(request, getattr(request.state, "viewer", None))
    return error_page(request, 404, _("Not found"),
                      _("There is no such page, or it is not yours to see. Check the address, "
                        "or go back to My work."))


def wants_page(request: Request) -> bool:
    """Is this a browser asking for a page (HTML, not under ``/api/``), which should meet
    the web view's error page rather than the API's JSON?"""
    path = request.url.path
    return (path != "/api" and not path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def unknown_path_page(request: Request) -> Response:
    """The 404 page for a path no route serves: with the header of a signed-in viewer
    when the session cookie names one (the answer is a 404, so nothing it wrote is kept),
    the plain page otherwise. Runs in the thread pool: the lookup reads the database."""
    if getattr(request.state, "viewer", None) is None and request.cookies.get(SESSION_COOKIE):
        settings: Settings = request.app.state.settings
        with suppress(SessionEnded):  # an ended session: the plain page
            request.state.viewer = web_sessions.authenticate(
                request_unit(request).session, request.cookies[SESSION_COOKIE], utcnow(),
                settings)
    return _not_found(request)


def _answer(request: Request, exc: Exception) -> Response:
    _ = gettext_for(request, getattr(request.state, "viewer", None))
    if isinstance(exc, SessionEnded):
        return sign_in_redirect(request, ended=SESSION_COOKIE in request.cookies)
    if isinstance(exc, NotFound):
        return _not_found(request)
    if isinstance(exc, RequestValidationError):
        if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
            return _not_found(request)  # /clients/abc is no client, as /clients/0 is not
        return error_page(request, 422, _("Check what you entered"),
                          _("Something in the request was not understood. Go back, check "
                            "the form and send it again."))
    if isinstance(exc, CsrfRefused):
        return error_page(request, 403, _("The form has expired"),
                          _("The form was not sent from a page of this site, or the page is "
                            "older than your session. Reload the page and try again."))
    if isinstance(exc, PermissionDenied):
        return error_page(request, 403, _("Not allowed"),
                          _("Only an admin may open this page or do this. Ask an admin of "
                            "your firm."))
    if isinstance(exc, ClientHubError):
        return error_page(request, exc.status_code, _("That did not work"), exc.message)
    reference = secrets.token_hex(6)
    log.error("unexpected error %s on %s %s", reference, request.method, request.url.path,
              exc_info=exc)
    return error_page(request, 500, _("Something went wrong"),
                      _("Something went wrong on the server and nothing was saved. Try "
                        "again; if it happens again, give your administrator the reference "
                        "%(reference)s.") % {"reference": reference})


class WebRoute(APIRoute):
    """A route whose failures are answered as pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Replay:
                raise  # a request sent again under its Idempotency-Key: the stored answer
            except Exception as exc:
                return _answer(request, exc)

        return handle


def web_router(**options: Any) -> APIRouter:
    """A router for pages: HTML answers, and out of the API's OpenAPI document."""
    return APIRouter(route_class=WebRoute, include_in_schema=False, **options)
