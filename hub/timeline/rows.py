"""The client page's timeline: a page of :func:`hub.timeline.service.read_timeline`
(access-checked and audited there) made into the rows a colleague reads.

A mail thread is one row, at the place of its newest message, with how many messages of
it the client has and when the last came; its older messages on later pages are not
repeated (while searching each page shows the threads it found). File activity is
already one entry per batch (:mod:`hub.drive.entries`). Notes carry their author's and
mentioned colleagues' names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.mail.models import MailMessage
from hub.paging import decode_cursor
from hub.staff.models import User
from hub.timeline.models import TimelineEntry
from hub.timeline.service import read_timeline

#: What a person filters by, and the entry kind each stands for.
FILTERS = {"all": None, "mail": "message", "files": "file_activity", "notes": "note"}


@dataclass
class TimelineRow:
    """One row: ``entry`` is the (newest) entry as the reader's level shows it."""

    kind: str
    entry: dict[str, Any]
    occurred_at: datetime
    author: str = ""
    mentioned: list[str] = field(default_factory=list)
    thread_id: int | None = None
    messages: int = 1
    participants: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """A note's text below its title (the title is the first line), or the body."""
        body = str(self.entry.get("body") or "")
        title = str(self.entry.get("title") or "")
        first, _, rest = body.partition("\n")
        return rest.strip() if title and first.strip() == title.strip() else body

    @property
    def level(self) -> str:
        return str(self.entry["level"])


@dataclass
class TimelineRows:
    rows: list[TimelineRow]
    next: str | None


@dataclass
class _Thread:
    thread_id: int
    messages: int
    last_at: datetime


def timeline_rows(session: Session, principal: Principal, client_id: int, at: datetime, *,
                  show: str = "all", text: str | None = None, before: str | None = None,
                  limit: int | None = None) -> TimelineRows:
    """A page of the client's timeline as rows, newest first; ``show`` is a key of
    :data:`FILTERS` (anything else shows all)."""
    page = read_timeline(session, principal, client_id, at, limit=limit, before=before,
                         kind=FILTERS.get(show), text=text or None)
    entries = list(page.items)
    threads = _threads(session, client_id, [e["id"] for e in entries if e["kind"] == "message"])
    mark = decode_cursor(before, {"t": datetime, "id": int})["t"] if before else None
    names = _names(session, {e["actor_user_id"] for e in entries if e["actor_user_id"]}
                   | {uid for e in entries for uid in e["mentions"] or ()})
    rows: list[TimelineRow] = []
    by_thread: dict[int, TimelineRow] = {}
    for entry in entries:
        when = datetime.fromisoformat(entry["occurred_at"])
        thread = threads.get(entry["id"])
        if thread is None:
            rows.append(TimelineRow(
                entry["kind"], entry, when,
                author=names.get(entry["actor_user_id"] or 0, ""),
                mentioned=[names.get(uid, "") for uid in entry["mentions"] or ()]))
            continue
        row = by_thread.get(thread.thread_id)
        if row is None:
            if mark is not None and not text and thread.last_at > mark:
                continue  # shown on an earlier page, at its newest message
            row = by_thread[thread.thread_id] = TimelineRow(
                "thread", entry, thread.last_at, thread_id=thread.thread_id,
                messages=thread.messages)
            rows.append(row)
        for person in entry["participants"] or ():
            if person not in row.participants:
                row.participants.append(person)
    return TimelineRows(rows, page.next)


def _threads(session: Session, client_id: int, entry_ids: list[int]) -> dict[int, _Thread]:
    """The thread of each message entry, with its messages the client has and the last."""
    if not entry_ids:
        return {}
    refs = {entry_id: int(ref.removeprefix("mail:")) for entry_id, ref in session.execute(
        select(TimelineEntry.id, TimelineEntry.source_ref).where(
            TimelineEntry.id.in_(entry_ids), TimelineEntry.source_kind == "mail"))
        if ref.removeprefix("mail:").isdigit()}
    thread_of: dict[int, int] = {
        message_id: thread_id for message_id, thread_id in session.execute(
            select(MailMessage.id, MailMessage.thread_id).where(
                MailMessage.id.in_(set(refs.values()))))} if refs else {}
    stats: dict[int, tuple[int, datetime]] = {}
    if thread_of:
        entry = TimelineEntry.__table__
        for thread_id, count, last in session.execute(
                select(MailMessage.thread_id, func.count(), func.max(entry.c.occurred_at))
                .join(entry, (entry.c.client_id == client_id)
                      & (entry.c.source_kind == "mail")
                      & (entry.c.source_ref
                         == literal("mail:").concat(cast(MailMessage.id, String))))
                .where(MailMessage.thread_id.in_(set(thread_of.values())))
                .group_by(MailMessage.thread_id)):
            stats[thread_id] = (count, _aware(last))
    found = {}
    for entry_id, message_id in refs.items():
        thread_id = thread_of.get(message_id)
        if thread_id is not None and thread_id in stats:
            count, last = stats[thread_id]
            found[entry_id] = _Thread(thread_id, count, last)
    return found


def _aware(value: Any) -> datetime:
    """``max()`` over a date column comes back as text on SQLite, naive UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {user_id: name for user_id, name in session.execute(
        select(User.id, User.name).where(User.id.in_(ids)))}


__all__ = ["FILTERS", "TimelineRow", "TimelineRows", "timeline_rows"]
