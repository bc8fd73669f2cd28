"""Responsibilities: who is responsible for which client, in which role, when.

Listed with their user's and client's names, this is the responsibilities matrix
(Vastuut) and the responsible-persons list (Vastuuhenkilöt) of the admin guide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.policy import Principal, require_admin_or_server
from hub.clients.groups import get_role
from hub.clients.models import Client, Responsibility
from hub.clients.schemas import ResponsibilityIn, ResponsibilityOut, ResponsibilityPatch
from hub.errors import InvalidInput, NotFound
from hub.paging import Page, clamp_limit, decode_cursor, page_of
from hub.staff.models import User
from hub.timeutil import to_instant


def _check_period(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "valid_until must be after valid_from (the end is exclusive)", field="valid_until"
        )


def create_responsibility(session: Session, principal: Principal | None,
                          data: ResponsibilityIn) -> Responsibility:
    require_admin_or_server(principal)
    if session.get(User, data.user_id) is None:
        raise InvalidInput(f"no user with id {data.user_id}", field="user_id")
    if session.get(Client, data.client_id) is None:
        raise InvalidInput(f"no client with id {data.client_id}", field="client_id")
    try:
        get_role(session, data.role)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="role") from exc
    start, end = to_instant(data.valid_from), to_instant(data.valid_until)
    _check_period(start, end)
    row = Responsibility(
        user_id=data.user_id,
        client_id=data.client_id,
        role=data.role,
        valid_from=start,
        valid_until=end,
    )
    session.add(row)
    session.flush()
    audit.record_by(session, principal, "responsibility.create", client_id=row.client_id,
                    detail={"id": row.id, "user_id": row.user_id, "role": row.role})
    return row


def get_responsibility(session: Session, responsibility_id: int) -> Responsibility:
    row = session.get(Responsibility, responsibility_id)
    if row is None:
        raise NotFound(f"no responsibility with id {responsibility_id}")
    return row


def update_responsibility(
    session: Session, principal: Principal | None, row: Responsibility,
    patch: ResponsibilityPatch,
) -> Responsibility:
    require_admin_or_server(principal)
    fields = patch.model_fields_set
    if "role" in fields and patch.role is not None:
        try:
            get_role(session, patch.role)
        except NotFound as exc:
            raise InvalidInput(exc.message, field="role") from exc
        row.role = patch.role
    start = to_instant(patch.valid_from) if "valid_from" in fields else row.valid_from
    end = to_instant(patch.valid_until) if "valid_until" in fields else row.valid_until
    _check_period(start, end)
    row.valid_from, row.valid_until = start, end
    session.flush()
    audit.record_by(session, principal, "responsibility.update", client_id=row.client_id,
                    detail={"id": row.id, **patch.model_dump(exclude_unset=True, mode="json")})
    return row


def delete_responsibility(session: Session, principal: Principal | None,
                          row: Responsibility) -> None:
    require_admin_or_server(principal)
    detail = {"id": row.id, "user_id": row.user_id, "role": row.role}
    client_id = row.client_id
    session.delete(row)
    session.flush()
    audit.record_by(session, principal, "responsibility.delete", client_id=client_id,
                    detail=detail)


def list_responsibilities(
    session: Session,
    *,
    client_id: int | None = None,
    user_id: int | None = None,
    role: str | None = None,
    group_id: int | None = None,
    active_at: datetime | None = None,
    include_archived: bool = True,
    limit: int | None = None,
    after: str | None = None,
) -> Page[ResponsibilityOut]:
    size = clamp_limit(limit, default=200)
    stmt = (
        select(Responsibility, User, Client)
        .join(User, User.id == Responsibility.user_id)
        .join(Client, Client.id == Responsibility.client_id)
        .order_by(Responsibility.id)
        .limit(size + 1)
    )
    if client_id is not None:
        stmt = stmt.where(Responsibility.client_id == client_id)
    if user_id is not None:
        stmt = stmt.where(Responsibility.user_id == user_id)
    if role is not None:
        stmt = stmt.where(Responsibility.role == role)
    if group_id is not None:
        stmt = stmt.where(Client.group_id == group_id)
    if not include_archived:
        stmt = stmt.where(Client.status != "archived")
    if active_at is not None:
        stmt = stmt.where(
            (Responsibility.valid_from.is_(None)) | (Responsibility.valid_from <= active_at),
            (Responsibility.valid_until.is_(None)) | (Responsibility.valid_until > active_at),
        )
    if after:
        stmt = stmt.where(Responsibility.id > decode_cursor(after, {"id": int}, "after")["id"])
    page = page_of(list(session.execute(stmt).all()), size, lambda row: {"id": row[0].id})
    return Page([describe(r, u, c) for r, u, c in page.items], page.next)


def all_responsibilities(session: Session, **filters: object) -> list[ResponsibilityOut]:
    """Every page of :func:`list_responsibilities`, for exports."""
    rows: list[ResponsibilityOut] = []
    after: str | None = None
    while True:
        page = list_responsibilities(session, after=after, **filters)  # type: ignore[arg-type]
        rows.extend(page.items)
        if page.next is None:
            return rows
        after = page.next


def describe(row: Responsibility, user: User, client: Client) -> ResponsibilityOut:
    return ResponsibilityOut(
        id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        role=row.role,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        user_name=user.name,
        user_email=user.email,
        client_name=client.name,
        client_group_id=client.group_id,
    )


def describe_one(session: Session, row: Responsibility) -> ResponsibilityOut:
    user, client = session.get(User, row.user_id), session.get(Client, row.client_id)
    assert user is not None and client is not None  # foreign keys
    return describe(row, user, client)
