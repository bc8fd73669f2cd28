"""The one home of read access: which clients a principal may see, at which level, when.

A principal reaches a client through exactly four paths, and nothing else grants access:

1. *own*: a responsibility of theirs on the client, valid at ``at``, whose role an access
   rule (matching the client's group / special group) gives a level;
2. *cover*: a cover in which they stand in for an absent colleague, valid at ``at`` (and
   naming the client, when narrowed), through that colleague's valid responsibilities;
   the colleague's own covers are not followed - covers do not chain - and a cover of a
   deactivated colleague gives nothing (their clients need a new responsible person);
3. *admin*: a rule with subject ``admin`` - being an admin grants nothing by itself;
4. *staff*: a rule with subject ``staff``, for every active user.

The level is the highest over all paths; ``none`` grants nothing (deny by default).
Periods are half-open: ``valid_from <= at < valid_until``; a missing bound is open.

:func:`scope_clients` states this in SQL for lists; :func:`check` states it again in
plain Python for single objects and audit reasons. :func:`grant_of` is the request's
answer for one client - the grant :func:`check` gives, in one prepared SQL statement.
Tests hold the three (and the OpenFGA model beside this file) to the same answers.
Levels and their order are :mod:`hub.access.levels`'s; what a client level shows of one
entry, message or file is :mod:`hub.access.visibility`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from hub.access.levels import Level, level_rank
from hub.access.models import AccessRule, Cover, cover_clients
from hub.clients.models import Client, Responsibility, client_special_groups
from hub.db import UTCDateTime
from hub.errors import PermissionDenied
from hub.staff.models import User

S = TypeVar("S", bound=Select[Any])
Ts = TypeVarTuple("Ts")
#: (client_id, rank) rows, one per access path.
GrantRows = Select[int, int]


@dataclass(frozen=True, slots=True)
class Principal:
    """The user on whose behalf a request or job runs."""

    user_id: int
    is_admin: bool = False
    is_active: bool = True

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user_id=user.id, is_admin=user.is_admin, is_active=user.is_active)


@dataclass(frozen=True, slots=True)
class Grant:
    """Why a principal sees a client: ``own:<role>``, ``cover:<user id>`` or ``rule:<id>``."""

    client_id: int
    level: Level
    reason: str


# --- SQL ---------------------------------------------------------------------------------

_RANK = level_rank(AccessRule.level)


def _valid_at(start: Any, end: Any, at: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    return and_(or_(start.is_(None), start <= at), or_(end.is_(None), end > at))


def _rule_matches_client() -> ColumnElement[bool]:
    in_special = exists().where(
        client_special_groups.c.client_id == Client.id,
        client_special_groups.c.special_group_id == AccessRule.special_group_id,
    )
    return and_(
        or_(AccessRule.client_group_id.is_(None), AccessRule.client_group_id == Client.group_id),
        or_(AccessRule.special_group_id.is_(None), in_special),
    )


def _responsibility_rule() -> ColumnElement[bool]:
    return and_(
        AccessRule.subject == "role",
        AccessRule.role == Responsibility.role,
        _rule_matches_client(),
    )


def _own(uid: int, at: datetime) -> GrantRows:
    return (
        select(Client.id.label("client_id"), _RANK.label("rank"))
        .select_from(Responsibility)
        .join(Client, Client.id == Responsibility.client_id)
        .join(AccessRule, _responsibility_rule())
        .where(
            Responsibility.user_id == uid,
            _valid_at(Responsibility.valid_from, Responsibility.valid_until, at),
        )
    )


def _covered(uid: int, at: datetime) -> GrantRows:
    return _through_covers(select(Client.id.label("client_id"), _RANK.label("rank")), uid, at)


def _through_covers(columns: Select[*Ts], uid: int, at: datetime) -> Select[*Ts]:
    """``columns`` selected over the paths through the covers ``uid`` stands in with."""
    names_client = exists().where(
        cover_clients.c.cover_id == Cover.id, cover_clients.c.client_id == Client.id
    )
    absent_active = exists().where(User.id == Cover.absent_user_id, User.is_active.is_(true()))
    return (
        columns
        .select_from(Cover)
        .join(Responsibility, Responsibility.user_id == Cover.absent_user_id)
        .join(Client, Client.id == Responsibility.client_id)
        .join(AccessRule, _responsibility_rule())
        .where(
            Cover.covering_user_id == uid,
            Cover.valid_from <= at,
            Cover.valid_until > at,
            absent_active,
            _valid_at(Responsibility.valid_from, Responsibility.valid_until, at),
            or_(Cover.narrowed.is_(False), names_client),
        )
    )


def _by_rule(principal: Principal) -> GrantRows:
    subjects = ["staff", "admin"] if principal.is_admin else ["staff"]
    return (
        select(Client.id.label("client_id"), _RANK.label("rank"))
        .select_from(Client)
        .join(AccessRule, and_(AccessRule.subject.in_(subjects), _rule_matches_client()))
    )


def _nothing() -> GrantRows:
    return select(Client.id.label("client_id"), literal(0).label("rank")).where(false())


def grants_select(principal: Principal, at: datetime) -> GrantRows:
    """Rows of (client_id, rank) - one per path; a client may appear several times."""
    if not principal.is_active:
        return _nothing()
    uid = principal.user_id
    return union_all(_own(uid, at), _covered(uid, at), _by_rule(principal)).subquery().select()


def own_client_ids(principal: Principal, at: datetime) -> Select[Any]:
    """Clients seen through the principal's own responsibilities (``mine=true``)."""
    sub = (_own(principal.user_id, at) if principal.is_active else _nothing()).subquery()
    return select(sub.c.client_id).where(sub.c.rank > 0)


def covered_client_ids(principal: Principal, at: datetime) -> Select[Any]:
    """Clients seen through a running cover (``covering=true``)."""
    sub = (_covered(principal.user_id, at) if principal.is_active else _nothing()).subquery()
    return select(sub.c.client_id).where(sub.c.rank > 0)


@dataclass(frozen=True, slots=True)
class CoverReach:
    """A client the principal sees through a running cover: whose and until when."""

    client_id: int
    absent_user_id: int
    valid_until: datetime


def covers_reaching(session: Session, principal: Principal, at: datetime) -> list[CoverReach]:
    """Each (client, absent colleague, end) the principal's running covers show them, by
    the same paths as :func:`covered_client_ids` (a client twice when two covers reach it)."""
    if not principal.is_active:
        return []
    rank = func.max(_RANK)
    stmt = (_through_covers(select(Client.id, Cover.absent_user_id, Cover.valid_until),
                            principal.user_id, at)
            .group_by(Client.id, Cover.absent_user_id, Cover.valid_until)
            .having(rank > 0)
            .order_by(Cover.valid_until, Client.id))
    return [CoverReach(client_id, absent, until)
            for client_id, absent, until in session.execute(stmt)]


def visible_client_ids(principal: Principal, at: datetime) -> Select[Any]:
    grants = grants_select(principal, at).subquery("g")
    return select(grants.c.client_id).where(grants.c.rank > 0)


def scope_clients(stmt: S, principal: Principal, at: datetime, client_id: Any = None) -> S:
    """Narrow ``stmt`` to rows of clients ``principal`` may see at ``at`` (deny by default).

    ``client_id`` is the column that names the client in ``stmt``; ``Client.id`` by default.
    """
    column = Client.id if client_id is None else client_id
    return stmt.where(column.in_(visible_client_ids(principal, at)))


def client_levels(
    session: Session, principal: Principal, at: datetime, client_ids: Iterable[int] | None = None
) -> dict[int, Level]:
    """The level per visible client (clients at ``none`` are left out)."""
    grants = grants_select(principal, at).subquery("g")
    stmt = (
        select(grants.c.client_id, func.max(grants.c.rank))
        .group_by(grants.c.client_id)
        .having(func.max(grants.c.rank) > 0)
    )
    if client_ids is not None:
        stmt = stmt.where(grants.c.client_id.in_(list(client_ids)))
    return {cid: Level(rank) for cid, rank in session.execute(stmt)}


# --- SQL, for one client -------------------------------------------------------------------

# One row per path to the client, strongest first; on a tie the more personal path (own,
# then cover, then rule) and within it the order check() walks them in (by id).
_PATH_ORDER = ("own", "cover", "rule")
_statements: dict[bool, CompoundSelect[Any]] = {}


def _grant_statement(is_admin: bool) -> CompoundSelect[Any]:
    """The prepared statement: built once per kind of principal and reused, so that
    SQLAlchemy neither builds nor compiles it again on each request."""
    cached = _statements.get(is_admin)
    if cached is not None:
        return cached
    uid: BindParameter[int] = bindparam("uid", type_=Integer)
    cid: BindParameter[int] = bindparam("cid", type_=Integer)
    at: BindParameter[Any] = bindparam("at", type_=UTCDateTime)
    no_int = cast(null(), Integer)
    own = (
        select(_RANK.label("rank"), literal(0).label("path"), Responsibility.role.label("role"),
               no_int.label("who"), Responsibility.id.label("o1"), literal(0).label("o2"))
        .select_from(Responsibility)
        .join(Client, Client.id == Responsibility.client_id)
        .join(AccessRule, _responsibility_rule())
        .where(Responsibility.user_id == uid, Responsibility.client_id == cid,
               _valid_at(Responsibility.valid_from, Responsibility.valid_until, at))
    )
    names_client = exists().where(
        cover_clients.c.cover_id == Cover.id, cover_clients.c.client_id == Client.id
    )
    absent_active = exists().where(User.id == Cover.absent_user_id, User.is_active.is_(true()))
    covered = (
        select(_RANK, literal(1), literal(""), Cover.absent_user_id, Cover.id, Responsibility.id)
        .select_from(Cover)
        .join(Responsibility, Responsibility.user_id == Cover.absent_user_id)
        .join(Client, Client.id == Responsibility.client_id)
        .join(AccessRule, _responsibility_rule())
        .where(Cover.covering_user_id == uid, Responsibility.client_id == cid,
               Cover.valid_from <= at, Cover.valid_until > at, absent_active,
               _valid_at(Responsibility.valid_from, Responsibility.valid_until, at),
               or_(Cover.narrowed.is_(False), names_client))
    )
    subjects = ["staff", "admin"] if is_admin else ["staff"]
    by_rule = (
        select(_RANK, literal(2), literal(""), no_int, AccessRule.id, literal(0))
        .select_from(Client)
        .join(AccessRule, and_(AccessRule.subject.in_(subjects), _rule_matches_client()))
        .where(Client.id == cid)
    )
    stmt = union_all(own, covered, by_rule).order_by(
        literal_column("rank").desc(), *(literal_column(c) for c in ("path", "o1", "o2"))
    ).limit(1)
    _statements[is_admin] = stmt
    return stmt


def grant_of(session: Session, principal: Principal, client_id: int,
             at: datetime) -> Grant | None:
    """What :func:`check` answers, as one statement: the strongest grant, or ``None``."""
    if not principal.is_active:
        return None
    row = session.connection().execute(  # a plain read: none of the ORM's handling
        _grant_statement(principal.is_admin),
        {"uid": principal.user_id, "cid": client_id, "at": at}).first()
    if row is None or row.rank == 0:
        return None
    path = _PATH_ORDER[row.path]
    reason = {"own": f"own:{row.role}", "cover": f"cover:{row.who}",
              "rule": f"rule:{row.o1}"}[path]
    return Grant(client_id, Level(row.rank), reason)


def require_admin(principal: Principal) -> None:
    """Admin-only actions manage the firm; they never open a client's timeline."""
    if not (principal.is_admin and principal.is_active):
        raise PermissionDenied("only an admin may do this; ask an admin of your firm")


def require_admin_or_server(principal: Principal | None) -> None:
    """As :func:`require_admin`; ``None`` is the command line on the server, which acts as
    an admin does (and the audit trail names it so)."""
    if principal is not None:
        require_admin(principal)


# --- Python, for one client ---------------------------------------------------------------


def _in_period(start: datetime | None, end: datetime | None, at: datetime) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


def _matches(rule: AccessRule, client: Client, special_ids: set[int]) -> bool:
    return (rule.client_group_id is None or rule.client_group_id == client.group_id) and (
        rule.special_group_id is None or rule.special_group_id in special_ids
    )


def check(session: Session, principal: Principal, client_id: int, at: datetime) -> Grant | None:
    """The strongest grant ``principal`` holds on ``client_id`` at ``at``, or ``None``."""
    if not principal.is_active:
        return None
    client = session.get(Client, client_id)
    if client is None:
        return None
    special_ids = {g.id for g in client.special_groups}
    rules = [r for r in session.scalars(select(AccessRule)) if _matches(r, client, special_ids)]

    def role_level(role: str) -> Level:
        levels = [Level.parse(r.level) for r in rules if r.subject == "role" and r.role == role]
        return max(levels, default=Level.NONE)

    candidates: list[Grant] = []
    own = session.scalars(
        select(Responsibility).where(
            Responsibility.user_id == principal.user_id, Responsibility.client_id == client_id
        )
    )
    for resp in own:
        if _in_period(resp.valid_from, resp.valid_until, at):
            candidates.append(Grant(client_id, role_level(resp.role), f"own:{resp.role}"))

    covers = session.scalars(select(Cover).where(Cover.covering_user_id == principal.user_id))
    for cover in covers:
        if not _in_period(cover.valid_from, cover.valid_until, at):
            continue
        if cover.narrowed and client_id not in {c.id for c in cover.clients}:
            continue
        absent = session.get(User, cover.absent_user_id)
        if absent is None or not absent.is_active:
            continue
        theirs = session.scalars(
            select(Responsibility).where(
                Responsibility.user_id == cover.absent_user_id,
                Responsibility.client_id == client_id,
            )
        )
        for resp in theirs:
            if _in_period(resp.valid_from, resp.valid_until, at):
                level = role_level(resp.role)
                candidates.append(Grant(client_id, level, f"cover:{cover.absent_user_id}"))

    for rule in rules:
        if rule.subject == "staff" or (rule.subject == "admin" and principal.is_admin):
            candidates.append(Grant(client_id, Level.parse(rule.level), f"rule:{rule.id}"))

    # Strongest first; on a tie the more personal path is named (own, then cover, then rule).
    order = {"own": 0, "cover": 1, "rule": 2}
    candidates.sort(key=lambda g: (-g.level, order[g.reason.split(":")[0]]))
    if not candidates or candidates[0].level == Level.NONE:
        return None
    return candidates[0]


__all__ = [
    "Grant",
    "Level",
    "Principal",
    "check",
    "client_levels",
    "covered_client_ids",
    "grant_of",
    "grants_select",
    "own_client_ids",
    "require_admin",
    "require_admin_or_server",
    "scope_clients",
    "visible_client_ids",
]
