"""Staff users (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ConfigDict, EmailStr, Field

from api.deps import AdminDep, SessionDep
from hub.schemas import Cursor, IdParam, In, Instant, ListPage, Out, Text
from hub.staff import passwords
from hub.staff import service as staff

router = APIRouter(prefix="/users", tags=["admin: users"])


#: The columns' lengths (hub/staff/models.py).
Email = Annotated[EmailStr, Text(320)]
Name = Annotated[str, Text(200, min_length=1)]


class UserIn(In):
    email: Email
    name: Name
    is_admin: bool = False


class UserPatch(In):
    email: Email | None = None
    name: Name | None = None
    is_admin: bool | None = None
    is_active: bool | None = None


class PasswordIn(In):
    # As typed: a space at either end is part of the password.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    password: Annotated[str, Field(min_length=passwords.MIN_LENGTH,
                                   max_length=passwords.MAX_LENGTH)]


class UserOut(Out):
    id: int
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: Instant


@router.get("", response_model=ListPage[UserOut])
def list_users(
    _: AdminDep,
    session: SessionDep,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    after: Cursor | None = None,
    include_inactive: bool = True,
) -> ListPage[UserOut]:
    page = staff.list_users(session, limit=limit, after=after, include_inactive=include_inactive)
    return ListPage(items=[UserOut.model_validate(u) for u in page.items], next=page.next)


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, principal: AdminDep, session: SessionDep) -> UserOut:
    user = staff.create_user(session, principal, email=body.email, name=body.name,
                             is_admin=body.is_admin)
    return UserOut.model_validate(user)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: IdParam, _: AdminDep, session: SessionDep) -> UserOut:
    return UserOut.model_validate(staff.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserOut)
def update_user(
    user_id: IdParam, body: UserPatch, principal: AdminDep, session: SessionDep
) -> UserOut:
    user = staff.update_user(
        session, principal, staff.get_user(session, user_id), **body.model_dump(exclude_unset=True)
    )
    return UserOut.model_validate(user)


@router.delete("/{user_id}", status_code=204)
def deactivate_user(user_id: IdParam, principal: AdminDep, session: SessionDep) -> None:
    """Users are deactivated, never deleted: the timeline and audit trail name them."""
    staff.deactivate_user(session, principal, staff.get_user(session, user_id))


@router.put("/{user_id}/password", status_code=204)
def set_password(
    user_id: IdParam, body: PasswordIn, principal: AdminDep, session: SessionDep
) -> None:
    """Set or reset a user's password for the web view; their web sessions end. The audit
    trail records who set whose password, never the password."""
    passwords.set_password(session, principal, staff.get_user(session, user_id), body.password)
