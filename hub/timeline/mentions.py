"""Notes that mention a colleague, for their My work: newest first, each shown at the
level the reader has on its client now.

A mention does not widen access: a note on a client the reader no longer sees (a cover
that ended) is left out, and one seen at ``metadata`` shows neither title nor text. The
notes shown are a read of client data, audited per client as a timeline read is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Principal, client_levels
from hub.access.visibility import stored_entry_level
from hub.clients.models import Client
from hub.staff.models import User
from hub.timeline.models import Mention, TimelineEntry

#: Mentions read per page before the access check leaves some out.
_SCAN = 200


@dataclass(frozen=True, slots=True)
class MentioningNote:
    entry_id: int
    client_id: int
    client_name: str
    occurred_at: datetime
    author_name: str | None
    level: str
    title: str | None  # from the subject level
    summary: str | None  # full level only


def notes_mentioning(session: Session, principal: Principal, at: datetime, *,
                     limit: int = 10) -> list[MentioningNote]:
    """The newest notes that mention the principal, on clients they may see now."""
    if not principal.is_active:
        return []
    rows = session.execute(
        select(TimelineEntry, Client.name, User.name)
        .join(Mention, Mention.entry_id == TimelineEntry.id)
        .join(Client, Client.id == TimelineEntry.client_id)
        .outerjoin(User, User.id == TimelineEntry.actor_user_id)
        .where(Mention.user_id == principal.user_id, TimelineEntry.kind == "note")
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(_SCAN)).all()
    levels = client_levels(session, principal, at, {entry.client_id for entry, _, _ in rows})
    found: list[MentioningNote] = []
    for entry, client_name, author in rows:
        level = stored_entry_level(entry, levels.get(entry.client_id, Level.NONE),
                                   principal.user_id)
        if level == Level.NONE:
            continue
        found.append(MentioningNote(
            entry_id=entry.id, client_id=entry.client_id, client_name=client_name,
            occurred_at=entry.occurred_at, author_name=author, level=level.label,
            title=entry.title if level >= Level.SUBJECT else None,
            summary=entry.summary if level >= Level.FULL else None))
        if len(found) == limit:
            break
    _audit(session, principal, found, levels)
    return found


def _audit(session: Session, principal: Principal, notes: list[MentioningNote],
           levels: dict[int, Level]) -> None:
    by_client: dict[int, list[int]] = defaultdict(list)
    for note in notes:
        by_client[note.client_id].append(note.entry_id)
    for client_id, entries in sorted(by_client.items()):
        audit.record(session, actor_user_id=principal.user_id, action="mentions.read",
                     client_id=client_id, own_transaction=True,
                     detail={"entries": entries, "level": levels[client_id].label})
