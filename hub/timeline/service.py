"""Reading a client's timeline page by page, and writing internal notes.

Every function here takes the principal; the client is looked up through the access
policy, so a client the reader may not see is "not found", never "forbidden". The level
each entry shows at is :func:`hub.access.visibility.entry_level`'s, for the page and for
one entry alike.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Grant, Principal, grant_of
from hub.access.visibility import stored_entry_level
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.paging import Page, clamp_limit, decode_cursor, encode_cursor
from hub.staff.models import User
from hub.staff.service import require_active_users
from hub.timeline.models import Mention, TimelineEntry
from hub.timeline.schemas import FileActivityOut, NoteIn, TimelineEntryOut
from hub.timeutil import firm_zone

KINDS = ("note", "message", "file_activity", "task")
_MENTION = re.compile(r"(?<![\w.@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)


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
    grant = visible_grant(session, principal, client_id, at)
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
    if data.mentions:
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


_ENTRIES = TimelineEntry.__table__
_MENTIONS = Mention.__table__
_PAGE_COLUMNS = [_ENTRIES.c[name] for name in (
    "id", "client_id", "kind", "occurred_at", "title", "summary", "body", "source_kind",
    "actor_user_id", "owner_user_id", "owner_ids", "share_level", "is_private", "private_to",
    "extra")]
_pages: dict[tuple[bool, bool, bool], Select[Any]] = {}
_MENTIONED = (select(_MENTIONS.c.entry_id, _MENTIONS.c.user_id)
              .where(_MENTIONS.c.entry_id.in_(bindparam("ids", expanding=True)))
              .order_by(_MENTIONS.c.entry_id, _MENTIONS.c.user_id))


def _page_statement(by_kind: bool, after_mark: bool, by_text: bool = False) -> Select[Any]:
    """Newest first, one index range scan; built once per shape of the question."""
    stmt = _pages.get((by_kind, after_mark, by_text))
    if stmt is None:
        stmt = (select(*_PAGE_COLUMNS)
                .where(_ENTRIES.c.client_id == bindparam("client_id"))
                .order_by(_ENTRIES.c.occurred_at.desc(), _ENTRIES.c.id.desc())
                .limit(bindparam("size")))
        if by_kind:
            stmt = stmt.where(_ENTRIES.c.kind == bindparam("kind"))
        if after_mark:
            t = bindparam("t", type_=_ENTRIES.c.occurred_at.type)
            stmt = stmt.where(or_(_ENTRIES.c.occurred_at < t,
                                  and_(_ENTRIES.c.occurred_at == t,
                                       _ENTRIES.c.id < bindparam("eid"))))
        if by_text:
            pattern: BindParameter[str] = bindparam("pattern")
            stmt = stmt.where(or_(*(func.lower(_ENTRIES.c[name]).like(pattern, escape="\\")
                                    for name in ("title", "summary", "body"))))
        _pages[(by_kind, after_mark, by_text)] = stmt
    return stmt


def _like_pattern(needle: str) -> str:
    """A LIKE pattern that finds at least every entry containing ``needle`` in any case:
    SQLite's lower() folds ASCII only, so a letter beyond it (ä, ö, å) matches any one
    character here and :func:`_matches_text` decides exactly."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + "".join(c if c.isascii() else "_" for c in escaped) + "%"


def _matches_text(row: Any, level: Level, needle: str) -> bool:
    """Does the entry, as ``level`` shows it, contain ``needle`` (lower-cased)? A
    ``subject`` reader matches titles only; ``metadata`` shows no text to match."""
    texts: tuple[str | None, ...]
    if level >= Level.FULL:
        texts = (row.title, row.summary, row.body)
    elif level >= Level.SUBJECT:
        texts = (row.title,)
    else:
        return False
    return any(needle in (text or "").lower() for text in texts)


def shape(row: Any, level: Level, mentions: list[int]) -> dict[str, Any]:
    """:func:`project` for a page's row, as the JSON the entry model gives: the page is
    answered without building a model per entry (tests hold the two to the same output)."""
    extra = row.extra or {}
    out: dict[str, Any] = {
        "id": row.id, "client_id": row.client_id, "kind": row.kind,
        # As the Instant type writes it: ISO 8601 in the firm's time zone.
        "occurred_at": row.occurred_at.astimezone(firm_zone()).isoformat(),
        "level": level.label,
        "actor_user_id": row.actor_user_id, "source_kind": row.source_kind,
        "participants": None, "files": None, "title": None, "summary": None, "body": None,
        "mentions": None, "extra": None,
    }
    if level >= Level.METADATA and "participants" in extra:
        out["participants"] = [str(p) for p in extra["participants"]]
    if row.kind == "file_activity" and level >= Level.METADATA and "action" in extra:
        subject = level >= Level.SUBJECT
        out["files"] = {
            "action": str(extra["action"]), "count": int(extra.get("count", 0)),
            "folder": str(extra.get("folder", "")) if subject else None,
            "names": [str(n) for n in extra.get("names", [])] if subject else None,
        }
    if level >= Level.SUBJECT:
        out["title"] = row.title
    if level >= Level.FULL:
        out["summary"] = row.summary
        out["body"] = row.body or None
        out["mentions"] = mentions
        out["extra"] = row.extra
    return out


def read_timeline(
    session: Session,
    principal: Principal,
    client_id: int,
    at: datetime,
    *,
    limit: int | None = None,
    before: str | None = None,
    kind: str | None = None,
    text: str | None = None,
) -> Page[dict[str, Any]]:
    """Newest first, each entry as :func:`shape` gives it; ``before`` is the ``next`` of
    the previous page. ``text`` keeps the entries that contain it in any case, in what
    the reader may see of each: title, summary or body at ``full``, the title at
    ``subject``, nothing at ``metadata``; a page may then hold fewer than ``limit``
    entries and still have a ``next``. Audited."""
    grant = visible_grant(session, principal, client_id, at)
    size = clamp_limit(limit)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    needle = " ".join((text or "").split()).lower()
    params: dict[str, Any] = {"client_id": client_id, "size": size + 1}
    if kind:
        params["kind"] = kind
    if before:
        mark = decode_cursor(before, {"t": datetime, "id": int})
        params |= {"t": mark["t"], "eid": mark["id"]}
    if needle:
        params["pattern"] = _like_pattern(needle)
    conn = session.connection()  # plain reads: none of the ORM's handling of a statement
    rows = conn.execute(_page_statement(bool(kind), bool(before), bool(needle)), params).all()
    more = len(rows) > size
    rows = rows[:size]
    shown = [(row, stored_entry_level(row, grant.level, principal.user_id)) for row in rows]
    shown = [(row, level) for row, level in shown if level > Level.NONE
             and (not needle or _matches_text(row, level, needle))]
    full = [row.id for row, level in shown if level >= Level.FULL]
    mentioned: dict[int, list[int]] = {}
    if full:
        for entry_id, user_id in conn.execute(_MENTIONED, {"ids": full}):
            mentioned.setdefault(entry_id, []).append(user_id)
    items = [shape(row, level, mentioned.get(row.id, [])) for row, level in shown]
    nxt = (
        encode_cursor({"t": rows[-1].occurred_at.isoformat(), "id": rows[-1].id}) if more else None
    )
    _audit_read(
        session,
        principal,
        grant,
        "timeline.read",
        None,
        {"entries": [i["id"] for i in items], "kind": kind, **({"text": needle} if needle else {})},
    )
    return Page(items, nxt)


def visible_grant(session: Session, principal: Principal, client_id: int,
                  at: datetime) -> Grant:
    """The grant that shows the client; "not found" when there is none, as if absent."""
    grant = grant_of(session, principal, client_id, at)
    if grant is None:
        raise NotFound(f"no client with id {client_id} is visible to you")
    return grant


def read_entry(
    session: Session, principal: Principal, client_id: int, entry_id: int, at: datetime
) -> TimelineEntryOut:
    grant = visible_grant(session, principal, client_id, at)
    entry = session.get(TimelineEntry, entry_id)
    if entry is None or entry.client_id != client_id:
        raise NotFound(f"no entry {entry_id} in this client's timeline")
    level = stored_entry_level(entry, grant.level, principal.user_id)
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
