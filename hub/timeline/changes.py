"""What changed since I last looked: the entries my clients' and my covered clients'
timelines gained since my previous visit to My work, counted per client, the client with
the newest entry first. Looking marks them seen.

The mark is the newest entry id at the visit (ids only grow), so the question is a range
scan over what was added since, however long the timelines are. The first visit shows
the past week. Entries the viewer made themselves, and entries hidden from them (a
colleague's private thread), are not counted. The counts are a read of client data,
audited per client as a timeline read is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Principal, client_levels, covered_client_ids, own_client_ids
from hub.access.visibility import stored_entry_level
from hub.clients.models import Client
from hub.timeline.models import MyWorkVisit, TimelineEntry

#: How far back a first visit looks.
FIRST_LOOK = timedelta(days=7)
#: New entries read at most; beyond it the counts are "at least" (``Changes.more``).
_SCAN = 5000


@dataclass(slots=True)
class ClientChanges:
    client_id: int
    client_name: str
    customer_number: int
    count: int = 0
    newest_at: datetime | None = None
    #: How many of each kind (note, message, file_activity, task).
    kinds: Counter[str] = field(default_factory=Counter)
    _newest_id: int = 0


@dataclass(frozen=True, slots=True)
class Changes:
    """``since``: the previous visit (None: this is the first, and the past week shows)."""

    since: datetime | None
    clients: list[ClientChanges]
    more: bool = False


def changes_since_last_look(session: Session, principal: Principal, at: datetime, *,
                            mark_seen: bool = True) -> Changes:
    """What changed on the principal's own and covered clients since their last visit;
    with ``mark_seen``, this visit becomes the last one."""
    if not principal.is_active:
        return Changes(None, [])
    visit = session.get(MyWorkVisit, principal.user_id)
    newest = session.scalar(select(func.max(TimelineEntry.id))) or 0
    mine = union(own_client_ids(principal, at), covered_client_ids(principal, at))
    levels = client_levels(session, principal, at, session.scalars(mine).all())
    found: dict[int, ClientChanges] = {}
    more = False
    if levels:
        stmt = (select(TimelineEntry.id, TimelineEntry.client_id, TimelineEntry.kind,
                       TimelineEntry.occurred_at, TimelineEntry.owner_user_id,
                       TimelineEntry.owner_ids, TimelineEntry.share_level,
                       TimelineEntry.is_private, TimelineEntry.private_to)
                .where(TimelineEntry.client_id.in_(list(levels)), TimelineEntry.id <= newest,
                       or_(TimelineEntry.actor_user_id.is_(None),
                           TimelineEntry.actor_user_id != principal.user_id))
                .order_by(TimelineEntry.id.desc()).limit(_SCAN + 1))
        stmt = (stmt.where(TimelineEntry.id > visit.seen_entry_id) if visit is not None
                else stmt.where(TimelineEntry.created_at >= at - FIRST_LOOK))
        rows = session.execute(stmt).all()
        more = len(rows) > _SCAN
        for row in rows[:_SCAN]:
            if stored_entry_level(row, levels[row.client_id], principal.user_id) == Level.NONE:
                continue
            changes = found.get(row.client_id)
            if changes is None:
                changes = found[row.client_id] = ClientChanges(row.client_id, "", 0,
                                                               _newest_id=row.id)
            changes.count += 1
            changes.kinds[row.kind] += 1
            if changes.newest_at is None or row.occurred_at > changes.newest_at:
                changes.newest_at = row.occurred_at
    if found:
        for client_id, name, number in session.execute(
                select(Client.id, Client.name, Client.customer_number)
                .where(Client.id.in_(list(found)))):
            found[client_id].client_name, found[client_id].customer_number = name, number
    clients = sorted(found.values(), key=lambda c: c._newest_id, reverse=True)
    for changes in clients:
        audit.record(session, actor_user_id=principal.user_id, action="timeline.changes",
                     client_id=changes.client_id, own_transaction=True,
                     detail={"entries": changes.count,
                             "level": levels[changes.client_id].label})
    since = visit.seen_at if visit is not None else None
    if mark_seen:
        _mark(session, principal, at, newest, visit)
    return Changes(since, clients, more)


def _mark(session: Session, principal: Principal, at: datetime, newest: int,
          visit: MyWorkVisit | None) -> None:
    if visit is None:
        session.add(MyWorkVisit(user_id=principal.user_id, seen_at=at, seen_entry_id=newest))
    else:
        visit.seen_at, visit.seen_entry_id = at, max(newest, visit.seen_entry_id)
    session.flush()
