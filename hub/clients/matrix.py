"""The responsibilities matrix (Vastuut): clients as rows, staff as columns, each cell the
roles that person holds for that client, now or from a date ahead.

An admin edits it one cell at a time: :func:`toggle_role` adds the role if the person
does not hold it and takes it away if they do, through the responsibility service (which
writes the audit rows). Taking one away ends it now when it has begun, so that the record
of who was responsible when stays; one not begun yet is simply removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from hub.access.policy import Principal, require_admin
from hub.clients import responsibilities as service
from hub.clients.groups import get_role
from hub.clients.models import Client, ClientGroup, Responsibility, client_special_groups
from hub.clients.schemas import ResponsibilityIn, ResponsibilityPatch
from hub.errors import InvalidInput, NotFound
from hub.paging import decode_cursor, encode_cursor
from hub.staff.models import User

#: Rows per page of the matrix; the rest come with "show more".
PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class MatrixFilter:
    """Which clients the matrix shows: in a client group, in a special group, with someone
    (or ``user_id``) holding ``role``, held by ``user_id``, and a part of the name."""

    group_id: int | None = None
    special_group_id: int | None = None
    role: str | None = None
    user_id: int | None = None
    q: str = ""


@dataclass(frozen=True, slots=True)
class Holding:
    """One role a person holds for a client; ``valid_from`` set when it begins later."""

    role: str
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class MatrixRow:
    client_id: int
    client_name: str
    customer_number: int
    group_name: str | None
    #: The roles per user id; a user with none is absent.
    cells: dict[int, list[Holding]]


@dataclass(frozen=True, slots=True)
class Matrix:
    #: The columns: active staff, and anyone deactivated who still holds a role.
    staff: Sequence[User]
    rows: Sequence[MatrixRow]
    #: The cursor of the next rows, if there are more.
    next: str | None = None
    total: int = 0
    filters: MatrixFilter = field(default_factory=MatrixFilter)


def _not_ended(at: datetime) -> ColumnElement[bool]:
    return or_(Responsibility.valid_until.is_(None), Responsibility.valid_until > at)


def _clients(filters: MatrixFilter, at: datetime) -> Select[Client, str]:
    stmt = (select(Client, ClientGroup.name)
            .outerjoin(ClientGroup, ClientGroup.id == Client.group_id)
            .where(Client.status != "archived"))
    if filters.group_id is not None:
        stmt = stmt.where(Client.group_id == filters.group_id)
    if filters.special_group_id is not None:
        stmt = stmt.where(exists().where(
            client_special_groups.c.client_id == Client.id,
            client_special_groups.c.special_group_id == filters.special_group_id))
    if filters.role is not None or filters.user_id is not None:
        held = exists().where(Responsibility.client_id == Client.id, _not_ended(at))
        if filters.role is not None:
            held = held.where(Responsibility.role == filters.role)
        if filters.user_id is not None:
            held = held.where(Responsibility.user_id == filters.user_id)
        stmt = stmt.where(held)
    needle = filters.q.strip().casefold()
    if needle:
        stmt = stmt.where(Client.name_key.contains(needle, autoescape=True))
    return stmt


def _staff(session: Session, at: datetime) -> list[User]:
    holding = select(Responsibility.user_id).where(_not_ended(at))
    return list(session.scalars(
        select(User).where(or_(User.is_active.is_(True), User.id.in_(holding)))
        .order_by(User.name, User.id)))


def _holdings(session: Session, client_ids: list[int],
              at: datetime) -> dict[int, dict[int, list[Holding]]]:
    cells: dict[int, dict[int, list[Holding]]] = defaultdict(lambda: defaultdict(list))
    if not client_ids:
        return cells
    for row in session.scalars(
            select(Responsibility)
            .where(Responsibility.client_id.in_(client_ids), _not_ended(at))
            .order_by(Responsibility.role, Responsibility.valid_from, Responsibility.id)):
        begins = row.valid_from if row.valid_from is not None and row.valid_from > at else None
        cells[row.client_id][row.user_id].append(Holding(row.role, begins, row.valid_until))
    return cells


def responsibility_matrix(session: Session, principal: Principal, at: datetime,
                          filters: MatrixFilter, *, limit: int | None = PAGE_SIZE,
                          after: str | None = None) -> Matrix:
    """The matrix as it stands at ``at``, by client name; ``limit`` None: every row (the
    export)."""
    require_admin(principal)
    stmt = _clients(filters, at)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    stmt = stmt.order_by(Client.name_key, Client.id)
    if after:
        mark = decode_cursor(after, {"name": str, "id": int}, "after")
        stmt = stmt.where(or_(Client.name_key > mark["name"],
                              (Client.name_key == mark["name"]) & (Client.id > mark["id"])))
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    found: list[tuple[Client, str | None]] = [(c, g) for c, g in session.execute(stmt)]
    more = limit is not None and len(found) > limit
    found = found[:limit] if limit is not None else found
    cells = _holdings(session, [pair[0].id for pair in found], at)
    rows = [MatrixRow(client.id, client.name, client.customer_number, group,
                      {uid: list(held) for uid, held in cells[client.id].items()})
            for client, group in found]
    last = found[-1][0] if found else None
    cursor = encode_cursor({"name": last.name_key, "id": last.id}) if more and last else None
    return Matrix(_staff(session, at), rows, cursor, total, filters)


def matrix_row(session: Session, principal: Principal, client_id: int,
               at: datetime) -> MatrixRow:
    """One client's row as it stands at ``at`` (for the cell just changed)."""
    require_admin(principal)
    found = session.execute(
        select(Client, ClientGroup.name).outerjoin(ClientGroup, ClientGroup.id == Client.group_id)
        .where(Client.id == client_id)).first()
    if found is None:
        raise NotFound(f"no client with id {client_id}")
    client, group = found
    cells = _holdings(session, [client.id], at)[client.id]
    return MatrixRow(client.id, client.name, client.customer_number, group,
                     {uid: list(held) for uid, held in cells.items()})


def toggle_role(session: Session, principal: Principal, client_id: int, user_id: int,
                role: str, at: datetime) -> bool:
    """Give ``user_id`` the ``role`` for ``client_id`` from now on, or take it away if they
    hold it (now or from a later date); True when they hold it afterwards."""
    require_admin(principal)
    try:
        get_role(session, role)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="role") from exc
    held = list(session.scalars(select(Responsibility).where(
        Responsibility.client_id == client_id, Responsibility.user_id == user_id,
        Responsibility.role == role, _not_ended(at))))
    if not held:
        service.create_responsibility(session, principal, ResponsibilityIn(
            user_id=user_id, client_id=client_id, role=role))
        return True
    for row in held:
        if row.valid_from is not None and row.valid_from >= at:
            service.delete_responsibility(session, principal, row)
        else:
            service.update_responsibility(session, principal, row,
                                          ResponsibilityPatch(valid_until=at))
    return False
