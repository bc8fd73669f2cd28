"""Reading a client's timeline page by page, and writing internal notes.

Every function here takes the principal; the client is looked up through the access
policy, so a client the reader may not see is "not found", never "forbidden".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from hub.access import audit
from hub.access.policy import Grant, Level, Principal
from hub.clients.service import get_visible_client
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.paging import Page, clamp_limit, decode_cursor, encode_cursor
from hub.staff.models import User
from hub.staff.service import require_active_users
from hub.timeline.models import Mention, TimelineEntry
from hub.timeline.schemas import FileActivityOut, NoteIn, TimelineEntryOut

KINDS = ("note", "message", "file_activity", "task")
_MENTION = re.compile(r"(?<![\w.@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)


def shared_level(principal: Principal, owners: Collection[int], share_level: str | None,
                 client_level: Level) -> Level:
    """Whoever's own mailbox or drive holds a source sees it in full; everyone else sees at
    most what its owners share (an account's share level)."""
    if principal.user_id in owners:
        return Level.FULL
    return min(client_level, Level.parse(share_level or "full"))


def entry_level(entry: TimelineEntry, client_level: Level, principal: Principal) -> Level:
    """The level for one entry, as :func:`shared_level`; a private entry is shown only to
    its owners and to those they named."""
    owners = set(entry.owner_ids or [])
    if entry.owner_user_id is not None:
        owners.add(entry.owner_user_id)
    if entry.is_private and principal.user_id not in owners | set(entry.private_to or []):
        return Level.NONE
    return shared_level(principal, owners, entry.share_level, client_level)


def project(entry: TimelineEntry, level: Level) -> TimelineEntryOut:
    out = TimelineEntryOut(
        id=entry.id,
        client_id=entry.client_id,
        kind=entry.kind,
        occurred_at=entry.occurred_at,
        level=level.label,
        actor_user_id=entry.actor_user_id,
        source_kind=entry.source_kind,
    )
    if level >= Level.METADATA and "participants" in (entry.extra or {}):
        out.participants = list(entry.extra["participants"])
    if entry.kind == "file_activity":
        out.files = file_activity(entry, level)
    if level >= Level.SUBJECT:
        out.title = entry.title
    if level >= Level.FULL:
        out.summary = entry.summary
        out.body = entry.body or None  # mail bodies are read (and audited) via /messages
        out.mentions = sorted(m.user_id for m in entry.mentions)
        out.extra = entry.extra
    return out


def file_activity(entry: TimelineEntry, level: Level) -> FileActivityOut | None:
    """A drive entry at ``level``: the folder and the file names are what a ``metadata``
    reader must not learn (a file name often says more than a mail subject)."""
    extra = entry.extra or {}
    if level < Level.METADATA or "action" not in extra:
        return None
    out = FileActivityOut(action=str(extra["action"]), count=int(extra.get("count", 0)))
    if level >= Level.SUBJECT:
        out.folder = str(extra.get("folder", ""))
        out.names = [str(n) for n in extra.get("names", [])]
    return out


def find_mentions(session: Session, text: str) -> set[int]:
    """Users named as @email, @local-part (matti.virtanen) or @Firstname in the text."""
    handles = {h.rstrip(".").casefold() for h in _MENTION.findall(text)}
    if not handles:
        return set()
    found: set[int] = set()
    for user in session.scalars(select(User).where(User.is_active.is_(True))):
        local = user.email.split("@", 1)[0]
        first = user.name.split()[0].casefold() if user.name.split() else ""
        if user.email in handles or local in handles or first in handles:
            found.add(user.id)
    return found


def add_note(
    session: Session, principal: Principal, client_id: int, data: NoteIn, at: datetime
) -> TimelineEntry:
    _, grant = get_visible_client(session, principal, client_id, at)
    if grant.level < Level.FULL:
        raise PermissionDenied(
            "you see this client only at the "
            f"'{grant.level.label}' level; writing notes needs full access"
        )
    text = data.text.strip()
    if not text:
        raise InvalidInput("a note cannot be empty", field="text")
    first_line = text.splitlines()[0]
    mentioned = find_mentions(session, text)
    mentioned |= set(require_active_users(session, data.mentions, field="mentions"))
    entry = TimelineEntry(
        client_id=client_id,
        kind="note",
        occurred_at=at,
        title=first_line[:200],
        summary=text[:280],
        body=text,
        source_kind="note",
        source_ref=str(uuid.uuid4()),
        actor_user_id=principal.user_id,
        mentions=[Mention(user_id=uid) for uid in sorted(mentioned)],
    )
    session.add(entry)
    session.flush()
    return entry


def read_timeline(
    session: Session,
    principal: Principal,
    client_id: int,
    at: datetime,
    *,
    limit: int | None = None,
    before: str | None = None,
    kind: str | None = None,
) -> Page[TimelineEntryOut]:
    """Newest first; ``before`` is the ``next`` of the previous page. Audited."""
    _, grant = get_visible_client(session, principal, client_id, at)
    size = clamp_limit(limit)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.client_id == client_id)
        .options(selectinload(TimelineEntry.mentions))
        .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(size + 1)
    )
    if kind:
        stmt = stmt.where(TimelineEntry.kind == kind)
    if before:
        mark = decode_cursor(before, {"t": datetime, "id": int})
        t, eid = mark["t"], mark["id"]
        stmt = stmt.where(
            or_(
                TimelineEntry.occurred_at < t,
                and_(TimelineEntry.occurred_at == t, TimelineEntry.id < eid),
            )
        )
    rows = list(session.scalars(stmt))
    more = len(rows) > size
    rows = rows[:size]
    items = []
    for row in rows:
        level = entry_level(row, grant.level, principal)
        if level > Level.NONE:
            items.append(project(row, level))
    nxt = (
        encode_cursor({"t": rows[-1].occurred_at.isoformat(), "id": rows[-1].id}) if more else None
    )
    _audit_read(
        session,
        principal,
        grant,
        "timeline.read",
        None,
        {"entries": [i.id for i in items], "kind": kind},
    )
    return Page(items, nxt)


def read_entry(
    session: Session, principal: Principal, client_id: int, entry_id: int, at: datetime
) -> TimelineEntryOut:
    _, grant = get_visible_client(session, principal, client_id, at)
    entry = session.get(TimelineEntry, entry_id)
    if entry is None or entry.client_id != client_id:
        raise NotFound(f"no entry {entry_id} in this client's timeline")
    level = entry_level(entry, grant.level, principal)
    if level == Level.NONE:
        raise NotFound(f"no entry {entry_id} in this client's timeline")
    _audit_read(session, principal, grant, "entry.read", entry.id, {"level": level.label})
    return project(entry, level)


def _audit_read(
    session: Session,
    principal: Principal,
    grant: Grant,
    action: str,
    entry_id: int | None,
    detail: dict[str, object],
) -> None:
    audit.record(
        session,
        actor_user_id=principal.user_id,
        action=action,
        client_id=grant.client_id,
        entry_id=entry_id,
        grant=grant.reason,
        detail={**detail, "level": grant.level.label},
        own_transaction=True,
    )
