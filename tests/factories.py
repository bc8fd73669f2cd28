"""Builders of rows for tests; each commits nothing, the caller decides."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from hub.access.models import AccessRule, Cover
from hub.clients.models import Client, ClientGroup, Responsibility, SpecialGroup
from hub.staff.models import User
from hub.staff.service import create_token

_seq = itertools.count(1)


def user(session: Session, *, admin: bool = False, active: bool = True, name: str = "") -> User:
    n = next(_seq)
    row = User(email=f"user{n}@firm.test", name=name or f"User {n}", is_admin=admin,
               is_active=active)
    session.add(row)
    session.flush()
    return row


def token(session: Session, who: User) -> str:
    return create_token(session, who)[1]


def client(session: Session, *, group: ClientGroup | None = None,
           specials: list[SpecialGroup] | None = None, name: str = "") -> Client:
    n = next(_seq)
    row = Client(name=name or f"Client {n} Oy", name_key=(name or f"Client {n} Oy").casefold(),
                 customer_number=100000 + n, status="active",
                 group_id=group.id if group else None, special_groups=specials or [])
    session.add(row)
    session.flush()
    return row


def group(session: Session) -> ClientGroup:
    row = ClientGroup(name=f"Group {next(_seq)}", starting_customer_number=1000)
    session.add(row)
    session.flush()
    return row


def special(session: Session) -> SpecialGroup:
    row = SpecialGroup(name=f"Special {next(_seq)}", description="")
    session.add(row)
    session.flush()
    return row


def responsibility(session: Session, who: User, of: Client, role: str = "asiakasvastaava",
                   start: datetime | None = None, end: datetime | None = None) -> Responsibility:
    row = Responsibility(user_id=who.id, client_id=of.id, role=role, valid_from=start,
                         valid_until=end)
    session.add(row)
    session.flush()
    return row


def cover(session: Session, absent: User, covering: User, start: datetime, end: datetime,
          clients: list[Client] | None = None) -> Cover:
    row = Cover(absent_user_id=absent.id, covering_user_id=covering.id, valid_from=start,
                valid_until=end, clients=clients or [], narrowed=bool(clients))
    session.add(row)
    session.flush()
    return row


def rule(session: Session, subject: str, level: str, *, role: str | None = None,
         group: ClientGroup | None = None, special: SpecialGroup | None = None) -> AccessRule:
    row = AccessRule(subject=subject, role=role, level=level,
                     client_group_id=group.id if group else None,
                     special_group_id=special.id if special else None)
    session.add(row)
    session.flush()
    return row
