"""Request dependencies: the session, the authenticated principal, and the clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from hub.access.policy import Principal, require_admin
from hub.db import utcnow
from hub.errors import AuthenticationFailed
from hub.staff import service as staff

_bearer = HTTPBearer(auto_error=False, description="A personal API token: clienthub tokens create")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns normally."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def now() -> datetime:
    """The instant access is decided at; one per request, so a page is judged as a whole."""
    return utcnow()


NowDep = Annotated[datetime, Depends(now)]


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed(
            "this endpoint needs an API token; send 'Authorization: Bearer <token>' with a "
            "token from 'clienthub tokens create EMAIL'"
        )
    user = staff.authenticate(session, credentials.credentials)
    # Commit the last-used stamp now: on SQLite an open write would block the audit
    # trail's own transaction later in the same request.
    session.commit()
    return Principal.of(user)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def admin_principal(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]
