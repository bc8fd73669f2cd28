"""Random firms for property tests: users, clients, groups, rules, responsibilities and
covers on a small grid of instants, so that window boundaries are hit often."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from hub.access.models import AccessRule, Cover, cover_clients
from hub.clients.models import (
    Client,
    ClientGroup,
    Responsibility,
    SpecialGroup,
    client_special_groups,
)
from hub.staff.models import ApiToken, User
from hub.timeline.models import Mention, TimelineEntry

ROLES = ("asiakasvastaava", "palkanlaskija")
LEVELS = ("none", "metadata", "subject", "full")
GRID = 6  # instants 0..5 hours from the origin


@dataclass(frozen=True)
class World:
    users: list[tuple[bool, bool]]  # (admin, active)
    clients: list[tuple[int | None, frozenset[int]]]  # (group index, special indexes)
    rules: list[tuple[str, str | None, int | None, int | None, str]]
    responsibilities: list[tuple[int, int, str, int | None, int | None]]
    covers: list[tuple[int, int, int, int, frozenset[int]]]


def _window() -> st.SearchStrategy[tuple[int | None, int | None]]:
    bound = st.one_of(st.none(), st.integers(0, GRID - 1))
    return st.tuples(bound, bound).filter(lambda w: None in w or w[0] < w[1])


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_users = draw(st.integers(1, 4))
    n_clients = draw(st.integers(1, 5))
    active = st.sampled_from([True, True, True, False])  # mostly active
    users = draw(st.lists(st.tuples(st.booleans(), active), min_size=n_users,
                          max_size=n_users))
    clients = draw(st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 1)),
                  st.frozensets(st.integers(0, 1), max_size=2)),
        min_size=n_clients, max_size=n_clients))
    scope = st.one_of(st.none(), st.integers(0, 1))
    rules = draw(st.lists(st.one_of(
        st.tuples(st.just("role"), st.sampled_from(ROLES), scope, scope, st.sampled_from(LEVELS)),
        st.tuples(st.sampled_from(["admin", "staff"]), st.none(), scope, scope,
                  st.sampled_from(LEVELS)),
    ), max_size=5))
    responsibilities = []
    for _ in range(draw(st.integers(0, 8))):
        start, end = draw(_window())
        responsibilities.append((draw(st.integers(0, n_users - 1)),
                                 draw(st.integers(0, n_clients - 1)),
                                 draw(st.sampled_from(ROLES)), start, end))
    covers = []
    if n_users > 1:
        for _ in range(draw(st.integers(0, 3))):
            absent, covering = draw(st.lists(st.integers(0, n_users - 1), min_size=2,
                                             max_size=2, unique=True))
            start = draw(st.integers(0, GRID - 2))
            end = draw(st.integers(start + 1, GRID))
            narrowed = draw(st.frozensets(st.integers(0, n_clients - 1), max_size=2))
            covers.append((absent, covering, start, end, narrowed))
    return World(users, clients, rules, responsibilities, covers)


def build(session: Session, world: World, origin: datetime, step: timedelta) -> tuple[
        list[User], list[Client]]:
    """Replace every firm row with ``world``; instant i is origin + i*step."""
    clear(session)
    groups = [ClientGroup(name=f"G{i}", starting_customer_number=1) for i in range(2)]
    specials = [SpecialGroup(name=f"S{i}", description="") for i in range(2)]
    session.add_all(groups + specials)
    session.flush()
    users = [User(email=f"u{i}@firm.test", name=f"U{i}", is_admin=a, is_active=act)
             for i, (a, act) in enumerate(world.users)]
    clients = [Client(name=f"C{i}", name_key=f"c{i}", customer_number=i + 1, status="active",
                      group_id=groups[g].id if g is not None else None,
                      special_groups=[specials[s] for s in sorted(sp)])
               for i, (g, sp) in enumerate(world.clients)]
    session.add_all(users + clients)
    session.flush()

    def at(i: int | None) -> datetime | None:
        return None if i is None else origin + i * step

    for subject, role, g, s, level in world.rules:
        session.add(AccessRule(subject=subject, role=role, level=level,
                               client_group_id=groups[g].id if g is not None else None,
                               special_group_id=specials[s].id if s is not None else None))
    for u, c, role, start, end in world.responsibilities:
        session.add(Responsibility(user_id=users[u].id, client_id=clients[c].id, role=role,
                                   valid_from=at(start), valid_until=at(end)))
    for a, b, start, end, narrowed in world.covers:
        session.add(Cover(absent_user_id=users[a].id, covering_user_id=users[b].id,
                          valid_from=at(start), valid_until=at(end),
                          clients=[clients[i] for i in sorted(narrowed)],
                          narrowed=bool(narrowed)))
    session.flush()
    return users, clients


def clear(session: Session) -> None:
    for table in (Mention.__table__, TimelineEntry.__table__, cover_clients, Cover.__table__,
                  Responsibility.__table__, AccessRule.__table__, ApiToken.__table__,
                  client_special_groups, Client.__table__, ClientGroup.__table__,
                  SpecialGroup.__table__, User.__table__):
        session.execute(delete(table))
