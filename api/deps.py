"""Request dependencies: the session, the authenticated principal, and the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.transactions import request_unit
from hub.access.policy import Principal, require_admin
from hub.db import utcnow
from hub.errors import AuthenticationFailed
from hub.staff import service as staff

_bearer = HTTPBearer(auto_error=False, description="A personal API token: clienthub tokens create")


# The dependencies that do no I/O are coroutines: FastAPI runs a plain function in the
# thread pool, and a hop there and back costs more than most of them do.


async def get_session(request: Request) -> Session:
    """The request's one session. It is committed before the answer is sent, when the
    answer is a success, and rolled back otherwise (:mod:`api.transactions`). Creating
    it opens no connection: the first statement does, in the thread that runs it."""
    return request_unit(request).session


SessionDep = Annotated[Session, Depends(get_session)]


async def now() -> datetime:
    """The instant access is decided at; one per request, so a page is judged as a whole."""
    return utcnow()


NowDep = Annotated[datetime, Depends(now)]


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed(
            "this endpoint needs an API token; send 'Authorization: Bearer <token>' with a "
            "token from 'clienthub tokens create EMAIL'"
        )
    principal = staff.authenticate(session, credentials.credentials)
    request_unit(request).identify(principal.user_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def admin_principal(principal: PrincipalDep) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]
