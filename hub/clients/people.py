"""Who looks after a client now: its responsible people by role, and who covers each of
them while they are away (and until when) - the client page's "people" panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from hub.access.models import Cover, cover_clients
from hub.access.policy import Grant
from hub.clients.models import Responsibility, Role
from hub.staff.models import User


@dataclass(frozen=True, slots=True)
class CoverNow:
    """A running cover of a responsible person that reaches this client."""

    covering_user_id: int
    covering_name: str
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class ResponsiblePerson:
    role: str
    role_name_fi: str
    role_name_en: str
    user_id: int
    name: str
    email: str
    is_active: bool
    covers: tuple[CoverNow, ...]

    def role_name(self, locale: str) -> str:
        return self.role_name_fi if locale == "fi" else self.role_name_en


def responsible_people(session: Session, grant: Grant, at: datetime) -> list[ResponsiblePerson]:
    """The client's responsibilities valid at ``at``, by role and name, each with the
    covers running for that person then. ``grant`` is the access decision the caller was
    given for the client (:func:`hub.access.policy.grant_of`, or the grant that came with
    the client): only hub/access makes one, so holding it is the proof of access, and the
    page decides once instead of once per section."""
    client_id = grant.client_id
    rows = session.execute(
        select(Responsibility.role, Role.name_fi, Role.name_en, User.id, User.name,
               User.email, User.is_active)
        .join(Role, Role.key == Responsibility.role)
        .join(User, User.id == Responsibility.user_id)
        .where(Responsibility.client_id == client_id,
               or_(Responsibility.valid_from.is_(None), Responsibility.valid_from <= at),
               or_(Responsibility.valid_until.is_(None), Responsibility.valid_until > at))
        .order_by(Role.name_fi, User.name, User.id)).all()
    absent = {row.id for row in rows}
    covering = User.__table__.alias("covering")
    names_client = exists().where(cover_clients.c.cover_id == Cover.id,
                                  cover_clients.c.client_id == client_id)
    covers: dict[int, list[CoverNow]] = {}
    if absent:
        for absent_id, covering_id, covering_name, until in session.execute(
                select(Cover.absent_user_id, covering.c.id, covering.c.name, Cover.valid_until)
                .join(covering, covering.c.id == Cover.covering_user_id)
                .where(Cover.absent_user_id.in_(absent), Cover.valid_from <= at,
                       Cover.valid_until > at, or_(Cover.narrowed.is_(False), names_client))
                .order_by(Cover.valid_until, Cover.id)):
            covers.setdefault(absent_id, []).append(CoverNow(covering_id, covering_name, until))
    seen: set[tuple[str, int]] = set()
    people = []
    for row in rows:
        if (row.role, row.id) in seen:  # two periods of one responsibility overlapping
            continue
        seen.add((row.role, row.id))
        people.append(ResponsiblePerson(row.role, row.name_fi, row.name_en, row.id, row.name,
                                        row.email, row.is_active,
                                        tuple(covers.get(row.id, ()))))
    return people


__all__ = ["CoverNow", "ResponsiblePerson", "responsible_people"]
