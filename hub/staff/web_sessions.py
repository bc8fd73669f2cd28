"""Web sessions: a signed-in browser, kept on the server.

The browser holds a random session id in an HttpOnly cookie; the database keeps only its
SHA-256, so a copy of the database signs nobody in. A session ends when it has been idle
for ``web_session_idle_minutes``, ``web_session_max_hours`` after it started whatever
happens, at sign-out, when an admin resets the user's password, and - at once - when the
user is deactivated: the lookup joins the user's ``is_active``, and deactivation deletes
the rows too.

Each session has its own synchronizer token against cross-site request forgery: every
form and htmx request made with the cookie sends it back, and a state-changing request
without it is refused (:func:`csrf_matches`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.policy import Principal
from hub.errors import AuthenticationFailed
from hub.settings import Settings
from hub.staff.models import User, WebSession

# last_seen_at measures idleness; to the minute is enough, and spares a write per page.
_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a web request is made by: the principal every service takes, and what the
    pages show of the user (their name, their language) and send back (the CSRF token)."""

    principal: Principal
    name: str
    email: str
    locale: str
    csrf_token: str
    session_row_id: int


class SessionEnded(AuthenticationFailed):
    """No session, or one that has ended: the browser must sign in (again)."""


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(session: Session, user: User, now: datetime, settings: Settings,
          replacing: str | None = None, via: str | None = None) -> str:
    """A new session for ``user``, who has just proved who they are; returns the id for
    the cookie (never stored). A session the browser still had (``replacing``) ends: a
    sign-in always gets a fresh id, so an id planted before it is worth nothing after.
    ``via`` names a proof other than the password (``microsoft``) in the audit row."""
    if replacing:
        end(session, replacing)
    prune(session, now, settings)
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(
        user_id=user.id, session_hash=_hash(session_id), csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.web_session_max_hours)))
    session.flush()
    detail: dict[str, object] = {"user_id": user.id}
    if via is not None:
        detail["via"] = via
    audit.record_by(session, Principal.of(user), "user.sign_in", detail=detail)
    return session_id


# One indexed lookup by the id's hash, built once: it runs on every page.
_HOLDER = (
    select(WebSession.id, WebSession.csrf_token, WebSession.last_seen_at,
           WebSession.expires_at, User.id.label("user_id"), User.is_admin, User.name,
           User.email, User.locale)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.session_hash == bindparam("session_hash"), User.is_active.is_(True))
)
_SESSIONS = cast(Table, WebSession.__table__)


def authenticate(session: Session, session_id: str, now: datetime,
                 settings: Settings) -> Viewer:
    """The viewer whose session ``session_id`` is; :class:`SessionEnded` when there is
    none, it has ended, or its user is deactivated. Read on every request, never cached:
    an ended session is refused by the next request, in every process."""
    row = (session.connection().execute(_HOLDER, {"session_hash": _hash(session_id)}).first()
           if session_id else None)
    if row is None:
        raise SessionEnded("you are not signed in; sign in to continue")
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        session.execute(delete(_SESSIONS).where(_SESSIONS.c.id == row.id))
        raise SessionEnded("your session has ended; sign in again to continue")
    if now - row.last_seen_at >= _SEEN_RESOLUTION:
        session.execute(update(_SESSIONS).where(_SESSIONS.c.id == row.id)
                        .values(last_seen_at=now))
    return Viewer(
        principal=Principal(user_id=row.user_id, is_admin=row.is_admin, is_active=True),
        name=row.name, email=row.email, locale=row.locale, csrf_token=row.csrf_token,
        session_row_id=row.id)


def csrf_matches(viewer: Viewer, sent: str | None) -> bool:
    """Is ``sent`` the viewer's synchronizer token? In constant time."""
    return sent is not None and hmac.compare_digest(sent.encode(), viewer.csrf_token.encode())


def end(session: Session, session_id: str) -> None:
    """Sign out: the session is gone, in every process, from the next request on."""
    session.execute(delete(_SESSIONS).where(_SESSIONS.c.session_hash == _hash(session_id)))


def end_all(session: Session, user_id: int) -> None:
    """End every session of the user (deactivated, or their password reset)."""
    session.execute(delete(_SESSIONS).where(_SESSIONS.c.user_id == user_id))


def end_others(session: Session, user_id: int, keeping: int) -> None:
    """End every session of the user but the one whose row is ``keeping`` (the browser
    that just changed the password stays signed in; any other, perhaps a thief's, ends)."""
    session.execute(delete(_SESSIONS).where(_SESSIONS.c.user_id == user_id,
                                            _SESSIONS.c.id != keeping))


def prune(session: Session, now: datetime, settings: Settings) -> None:
    """Delete sessions that have ended by time; run at each sign-in, so the table holds
    about as many rows as there are people signed in."""
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    session.execute(delete(_SESSIONS).where(or_(_SESSIONS.c.expires_at <= now,
                                                _SESSIONS.c.last_seen_at <= now - idle)))
