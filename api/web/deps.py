"""What a page depends on: the signed-in viewer (from the session cookie) and, through
it, the same :class:`~hub.access.policy.Principal` the API's services take.

:func:`signed_in` also refuses a state-changing request (POST, PUT, PATCH, DELETE) that
does not send the session's CSRF token back, in a form field ``csrf_token`` or the
``X-CSRF-Token`` header (which htmx sends from ``hx-headers`` on ``<body>``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from api.deps import NowDep, SessionDep
from api.transactions import request_unit
from hub.access.policy import Principal, require_admin
from hub.errors import PermissionDenied
from hub.settings import Settings
from hub.staff import web_sessions
from hub.staff.web_sessions import Viewer

#: The session cookie: the session id, HttpOnly, SameSite=Lax, Secure behind TLS.
SESSION_COOKIE = "clienthub_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(PermissionDenied):
    """A state-changing request without the session's token: not from one of our pages."""


def cookie_secure(request: Request) -> bool:
    """Secure cookies when the request came over TLS, or TLS ends at a proxy in front."""
    settings: Settings = request.app.state.settings
    return request.url.scheme == "https" or settings.tls_in_front


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this server (``/clients/7?tab=mail``), else
    ``default``: a sign-in never sends anyone on to another site."""
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


async def sent_csrf_token(request: Request) -> str | None:
    """The CSRF token a state-changing request sent: its header, else its form field."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def signed_in(request: Request, session: SessionDep, at: NowDep,
              sent: Annotated[str | None, Depends(sent_csrf_token)]) -> Viewer:
    """The viewer whose session the cookie names; :class:`~hub.staff.web_sessions.
    SessionEnded` (a redirect to the sign-in page) when there is none."""
    settings: Settings = request.app.state.settings
    viewer = web_sessions.authenticate(session, request.cookies.get(SESSION_COOKIE, ""), at,
                                       settings)
    request.state.viewer = viewer  # for the error pages, which show the same header
    if request.method not in SAFE_METHODS and not web_sessions.csrf_matches(viewer, sent):
        raise CsrfRefused("the form was not sent from a page of this site, or the page is "
                          "older than your session; reload the page and try again")
    request_unit(request).identify(viewer.principal.user_id)
    return viewer


ViewerDep = Annotated[Viewer, Depends(signed_in)]


async def web_principal(viewer: ViewerDep) -> Principal:
    """The principal of the signed-in viewer: what every service takes."""
    return viewer.principal


WebPrincipalDep = Annotated[Principal, Depends(web_principal)]


async def admin_viewer(viewer: ViewerDep) -> Viewer:
    require_admin(viewer.principal)
    return viewer


AdminViewerDep = Annotated[Viewer, Depends(admin_viewer)]
