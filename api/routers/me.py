"""The caller's own account and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from api.deps import NowDep, PrincipalDep, SessionDep
from hub.access.schemas import CoverOut
from hub.access.service import describe_cover, list_covers
from hub.schemas import IdParam, In, Instant, ListPage, Out, Text
from hub.staff import service as staff

router = APIRouter(tags=["me"])


class MeOut(Out):
    id: int
    email: str
    name: str
    is_admin: bool
    covers: list[CoverOut]


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    created_at: Instant
    last_used_at: Instant | None
    revoked_at: Instant | None


class NewTokenIn(In):
    name: Annotated[str, Text(100)] = ""  # the column's length (hub/staff/models.py)


class NewTokenOut(TokenOut):
    token: str


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep, session: SessionDep, at: NowDep) -> MeOut:
    """Who you are, and the covers in which you stand in or are stood in for."""
    user = staff.get_user(session, principal.user_id)
    covers = [
        describe_cover(c, at) for c in list_covers(session, user_id=user.id) if c.valid_until > at
    ]
    return MeOut(
        id=user.id, email=user.email, name=user.name, is_admin=user.is_admin, covers=covers
    )


@router.get("/me/tokens", response_model=ListPage[TokenOut])
def my_tokens(principal: PrincipalDep, session: SessionDep) -> ListPage[TokenOut]:
    user = staff.get_user(session, principal.user_id)
    rows = staff.list_tokens(session, user)
    return ListPage(items=[TokenOut.model_validate(r) for r in rows])


@router.post("/me/tokens", response_model=NewTokenOut, status_code=201)
def new_token(body: NewTokenIn, principal: PrincipalDep, session: SessionDep) -> NewTokenOut:
    """A new token for yourself; it is shown in this response only."""
    user = staff.get_user(session, principal.user_id)
    row, token = staff.create_token(session, principal, user, body.name)
    return NewTokenOut(**TokenOut.model_validate(row).model_dump(), token=token)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: IdParam, principal: PrincipalDep, session: SessionDep) -> None:
    staff.revoke_token(session, principal, token_id, user_id=principal.user_id)


__all__ = ["router"]
