"""Covers as the admin's screen shows them: who is away, who covers, which clients, from
when until when - the running and the upcoming ones, with names rather than ids.

Starting, changing and ending a cover stay with :mod:`hub.access.service` (which writes
the audit rows); :func:`end_cover_now` only picks the right one of its operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.access import service
from hub.access.models import Cover
from hub.access.policy import Principal, require_admin
from hub.access.schemas import CoverPatch
from hub.clients.models import Client, Responsibility
from hub.staff.models import User


@dataclass(frozen=True, slots=True)
class CoverLine:
    id: int
    absent_name: str
    covering_name: str
    #: The clients it is narrowed to, by name; None: all of the absent person's clients.
    client_names: list[str] | None
    valid_from: datetime
    valid_until: datetime
    note: str
    running: bool


def current_and_upcoming(session: Session, principal: Principal, at: datetime) -> list[CoverLine]:
    """Covers not yet ended at ``at``: running ones first, each group by start."""
    require_admin(principal)
    covers = list(session.scalars(
        select(Cover).options(selectinload(Cover.clients))
        .where(Cover.valid_until > at).order_by(Cover.valid_from, Cover.id)))
    ids = {c.absent_user_id for c in covers} | {c.covering_user_id for c in covers}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    lines = [CoverLine(
        id=c.id, absent_name=names[c.absent_user_id], covering_name=names[c.covering_user_id],
        client_names=sorted(client.name for client in c.clients) if c.narrowed else None,
        valid_from=c.valid_from, valid_until=c.valid_until, note=c.note,
        running=c.valid_from <= at) for c in covers]
    return sorted(lines, key=lambda line: not line.running)


def end_cover_now(session: Session, principal: Principal, cover_id: int, at: datetime) -> None:
    """End a running cover at ``at`` (kept on record), or call off one not begun yet."""
    require_admin(principal)
    cover = service.get_cover(session, cover_id)
    if cover.valid_until <= at:
        return  # ended already: nothing to do
    if cover.valid_from >= at:
        service.delete_cover(session, principal, cover, at)
    else:
        service.update_cover(session, principal, cover, CoverPatch(valid_until=at), at)


@dataclass(frozen=True, slots=True)
class ClientChoice:
    id: int
    name: str


def clients_of(session: Session, principal: Principal, user_id: int,
               at: datetime) -> list[ClientChoice]:
    """The clients ``user_id`` is responsible for at ``at``: those a cover for them may be
    narrowed to."""
    require_admin(principal)
    held = select(Responsibility.client_id).where(
        Responsibility.user_id == user_id,
        (Responsibility.valid_from.is_(None)) | (Responsibility.valid_from <= at),
        (Responsibility.valid_until.is_(None)) | (Responsibility.valid_until > at))
    return [ClientChoice(cid, name) for cid, name in session.execute(
        select(Client.id, Client.name).where(Client.id.in_(held), Client.status != "archived")
        .order_by(Client.name_key, Client.id))]
