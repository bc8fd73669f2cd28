"""The fetch side of mail: the sink that keeps what a mail connector yields.

A sync's fetch stores each new mailbox copy as it came - its bytes in ``mail_raw`` and a
row in ``mail_inbound`` - and nothing more. Parsing, threading and matching happen when
the copy is filed (:mod:`hub.mail.filing`), after the fetch: the connection to the mail
server is held only as long as reading takes, nothing a parser chokes on can hold up a
mailbox, and the parse can use every core. Flag changes and deletions of copies already
filed are applied here directly; of copies still waiting, they update the waiting row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.bulk_rows import insert_rows, reserve_ids
from hub.db import utcnow
from hub.mail.fields import digest, folder_of
from hub.mail.matching import sync_entries
from hub.mail.models import MailCopy, MailInbound, MailMessage, MailRaw
from hub.sync.protocol import Item
from hub.sync.records import Record

_RAW = cast(Table, MailRaw.__table__)
_INBOUND = cast(Table, MailInbound.__table__)
_COPIES = cast(Table, MailCopy.__table__)
#: What a copy's source record keeps of its item, beyond what its stream and id say
#: (an IMAP copy's folder is its stream, its UID its id): where an archive holds it.
_KEEP = ("folder", "path")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Queued:
    """A new copy on its way into the filing queue."""

    record: Record
    raw: bytes
    flags: list[str]
    headers_only: bool


class MailSink:
    #: The fetched bytes exist nowhere else here: a copy that cannot be stored stops the
    #: fetch at its last checkpoint rather than be set aside (see hub.sync.runner.Sink).
    keeps_only_copy = True

    def record_data(self, item: Item) -> dict[str, Any]:
        data = item.data
        kept = {k: data[k] for k in _KEEP if k in data}
        if kept.get("folder") == folder_of(item.stream):
            del kept["folder"]
        return kept

    def apply(self, session: Session, account: Account, record: Record, item: Item) -> bool:
        self.apply_many(session, account, [(record, item)])
        return True

    def apply_many(self, session: Session, account: Account,
                   pairs: list[tuple[Record, Item]]) -> int:
        """Queue new copies, update the flags of known ones; nothing is parsed here, so
        nothing is counted unparsed yet (filing counts it)."""
        conn = session.connection()
        waiting = _waiting(session, [r.id for r, _ in pairs
                                     if r.target_id is None and not r.fresh])
        upgrade = _headers_only(session, [r.id for r, i in pairs if r.target_id is not None
                                          and i.kind == "message"
                                          and not i.data.get("headers_only")])
        queue: dict[int, _Queued] = {}
        inbound_flags: list[dict[str, Any]] = []
        copy_flags: list[dict[str, Any]] = []
        for record, item in pairs:
            flags = list(item.data.get("flags") or ())
            if item.kind == "message" and not record.fresh:  # a fresh one was given it
                record.data = self.record_data(item)
            if record.id in queue:  # twice in one batch: the later answer wins
                queue[record.id] = _queued(record, item, queue[record.id])
            elif record.id in waiting:
                if item.kind == "message" and waiting[record.id] and not item.data.get(
                        "headers_only"):
                    queue[record.id] = _queued(record, item)  # the full copy replaces it
                else:
                    inbound_flags.append({"b_id": record.id, "flags": flags})
            elif item.kind == "message" and (record.target_id is None or record.id in upgrade):
                queue[record.id] = _queued(record, item)
            elif record.target_id is not None:
                copy_flags.append({"b_id": record.id, "flags": flags,
                                   "folder": str(item.data.get("folder", ""))})
        if queue:
            _enqueue(session, account, list(queue.values()), replace=set(waiting) & set(queue))
        if inbound_flags:
            conn.execute(update(_INBOUND).where(
                _INBOUND.c.source_record_id == bindparam("b_id")).values(
                flags=bindparam("flags")), inbound_flags)
        if copy_flags:
            _update_copies(session, copy_flags)
        return 0

    def gone(self, session: Session, account: Account, record: Record) -> None:
        copy = session.scalar(select(MailCopy).where(MailCopy.source_record_id == record.id))
        if copy is None:
            return  # still waiting: filing gives the copy the record's deletion
        copy.deleted_at = copy.deleted_at or utcnow()
        message = session.get(MailMessage, copy.message_id)
        if message is not None:
            sync_entries(session, message)


def _update_copies(session: Session, changes: list[dict[str, Any]]) -> None:
    """Filed copies seen again: their flags and folder as the source has them now, and
    live - a copy that was marked gone and is back brings its timeline entries along."""
    conn = session.connection()
    ids = [c["b_id"] for c in changes]
    back: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        back.update(conn.execute(select(_COPIES.c.message_id).where(
            _COPIES.c.source_record_id.in_(ids[start:start + _CHUNK]),
            _COPIES.c.deleted_at.is_not(None))).scalars())
    conn.execute(update(_COPIES).where(_COPIES.c.source_record_id == bindparam("b_id")).values(
        flags=bindparam("flags"), folder=bindparam("folder"), deleted_at=None), changes)
    for message_id in sorted(back):
        message = session.get(MailMessage, message_id)
        if message is not None:
            sync_entries(session, message)


def _queued(record: Record, item: Item, before: _Queued | None = None) -> _Queued:
    data: Mapping[str, Any] = item.data
    flags = list(data.get("flags") or ())
    if item.kind != "message" and before is not None:  # a flag change of a queued copy
        return _Queued(before.record, before.raw, flags, before.headers_only)
    raw = data.get("raw")
    return _Queued(record, bytes(raw) if raw is not None else b"", flags,
                   bool(data.get("headers_only")))


def _waiting(session: Session, record_ids: list[int]) -> dict[int, bool]:
    """Of these records, those whose copy waits to be filed: headers only?"""
    found: dict[int, bool] = {}
    for start in range(0, len(record_ids), _CHUNK):
        found.update(session.connection().execute(
            select(_INBOUND.c.source_record_id, _INBOUND.c.headers_only).where(
                _INBOUND.c.source_record_id.in_(record_ids[start:start + _CHUNK]))).all())
    return found


def _headers_only(session: Session, record_ids: list[int]) -> set[int]:
    """Of these filed records, those whose message is known only by its headers."""
    found: set[int] = set()
    for start in range(0, len(record_ids), _CHUNK):
        found.update(session.scalars(
            select(MailCopy.source_record_id).join(
                MailMessage, MailMessage.id == MailCopy.message_id).where(
                MailCopy.source_record_id.in_(record_ids[start:start + _CHUNK]),
                MailMessage.headers_only.is_(True))))
    return found


def _enqueue(session: Session, account: Account, queued: list[_Queued],
             replace: set[int]) -> None:
    conn = session.connection()
    if replace:  # a waiting headers-only copy that a full one replaces
        old = list(conn.execute(select(_INBOUND.c.raw_id).where(
            _INBOUND.c.source_record_id.in_(sorted(replace)))).scalars())
        conn.execute(delete(_INBOUND).where(_INBOUND.c.source_record_id.in_(sorted(replace))))
        conn.execute(delete(_RAW).where(_RAW.c.id.in_(old)))
    raw_ids = reserve_ids(conn, _RAW, len(queued))
    insert_rows(conn, _RAW, [{"id": raw_id, "sha256": digest(q.raw), "raw": q.raw}
                             for q, raw_id in zip(queued, raw_ids, strict=True)])
    now = utcnow()
    insert_rows(conn, _INBOUND, [
        {"source_record_id": q.record.id, "account_id": account.id, "raw_id": raw_id,
         "flags": q.flags, "headers_only": q.headers_only, "error": None,
         "created_at": now}
        for q, raw_id in zip(queued, raw_ids, strict=True)])
