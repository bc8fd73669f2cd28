"""The sink that turns synced mail items into messages, copies, threads and links.

The same message in several colleagues' mailboxes (To and Cc both, or a forwarded copy
with the same Message-ID) is one message with a copy per mailbox folder; a message moved
between folders is one message whose old copy is marked gone and new copy added.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.db import utcnow
from hub.mail import bulk
from hub.mail.fields import (
    message_columns,
    message_key,
    references,
    sent_time,
    unique_people,
)
from hub.mail.matching import Directory, load_directory, match, sync_entries
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailRaw
from hub.mail.threading import find_or_create_thread
from hub.sync.models import SourceRecord
from hub.sync.protocol import Item


def _prepare(record: SourceRecord, item: Item) -> bulk.NewMessage | None:
    """A new message ready for the set-based path, or None for one it leaves alone."""
    if item.kind != "message":
        return None
    raw: bytes | None = item.data.get("raw")
    parsed = item.data.get("parsed") or {"failed": True,
                                         "problems": ["the source sent no content"]}
    key, digest = message_key(parsed, raw)
    return bulk.NewMessage(
        record=record, item=item, key=key, digest=digest, raw=raw or b"", parsed=parsed,
        people=unique_people(parsed), refs=references(parsed),
        sent_at=sent_time(parsed.get("date"), item.occurred_at),
        subject=parsed.get("subject") or "")


class MailSink:
    def __init__(self) -> None:
        self._directory: Directory | None = None
        self._directory_at = 0.0

    def _lookup(self, session: Session) -> Directory:
        # Staff, contacts and domains change rarely; reading them once a minute keeps
        # ingest cheap, and a contact added meanwhile re-matches past mail anyway.
        if self._directory is None or time.monotonic() - self._directory_at > 60:
            self._directory, self._directory_at = load_directory(session), time.monotonic()
        return self._directory

    def apply_many(self, session: Session, account: Account,
                   pairs: list[tuple[SourceRecord, Item]]) -> int:
        """The runner's fast path: new messages set-based (hub.mail.bulk), the rest here
        one by one; returns how many were kept unparsed."""
        unparsed = sum(1 for _, item in pairs if item.kind == "message"
                       and (item.data.get("parsed") or {"failed": True}).get("failed"))
        later = bulk.ingest(session, account, pairs, self._lookup(session), _prepare)
        if later:
            session.flush()
            for record, item in later:
                self.apply(session, account, record, item)
        return unparsed

    def apply(self, session: Session, account: Account, record: SourceRecord,
              item: Item) -> bool:
        data = item.data
        # A record never applied before has no copy: spare the query on first syncs.
        copy = None if record.target_id is None else session.scalar(
            select(MailCopy).where(MailCopy.source_record_id == record.id))
        parsed: dict[str, Any] | None = data.get("parsed")
        if item.kind == "flags":  # flags changed at the source; nothing else did
            if copy is not None:
                copy.flags = list(data.get("flags") or [])
            return True
        raw: bytes | None = data.get("raw")
        parsed = parsed or {"failed": True, "problems": ["the source sent no content"]}
        key, digest = message_key(parsed, raw)
        message = session.scalar(select(MailMessage).where(MailMessage.message_key == key))
        created = message is None
        if message is None:
            message = self._create(session, key, parsed, item, raw, digest)
        elif message.headers_only and raw and not data.get("headers_only"):
            self._fill(message, parsed)  # a full copy of a message first seen headers-only
            message.headers_only = False
            stored = session.get(MailRaw, message.id)
            if stored is not None:
                stored.raw, stored.sha256 = raw, digest
        if copy is None:
            copy = MailCopy(message_id=message.id, account_id=account.id,
                            source_record_id=record.id, folder=str(data.get("folder", "")))
            session.add(copy)
        copy.message_id = message.id
        copy.folder = str(data.get("folder", copy.folder))
        copy.flags = list(data.get("flags") or [])
        copy.deleted_at = None
        record.target_id = message.id
        record.data = {k: data[k] for k in ("folder", "uid", "uidvalidity", "path") if k in data}
        session.flush()
        if created:
            match(session, message, self._lookup(session), new=True)
        else:
            sync_entries(session, message)
        return not parsed.get("failed", False)

    def _create(self, session: Session, key: str, parsed: dict[str, Any], item: Item,
                raw: bytes | None, digest: str) -> MailMessage:
        people = unique_people(parsed)
        refs = references(parsed)
        sent_at = sent_time(parsed.get("date"), item.occurred_at)
        thread = find_or_create_thread(
            session, keys=[key, *refs], subject=parsed.get("subject") or "",
            participants={a for _, a, _ in people}, sent_at=sent_at)
        message = MailMessage(message_key=key, thread_id=thread.id, sent_at=sent_at,
                              headers_only=bool(item.data.get("headers_only")))
        self._fill(message, parsed)
        session.add(message)
        session.flush()
        session.add(MailRaw(message_id=message.id, sha256=digest, raw=raw or b""))
        for role, address, name in people:
            session.add(MailParticipant(message_id=message.id, address=address[:320],
                                        domain=address.rpartition("@")[2][:253],
                                        name=name[:300], role=role))
        session.flush()
        return message

    @staticmethod
    def _fill(message: MailMessage, parsed: dict[str, Any]) -> None:
        for name, value in message_columns(parsed).items():
            setattr(message, name, value)

    def gone(self, session: Session, account: Account, record: SourceRecord) -> None:
        copy = session.scalar(select(MailCopy).where(MailCopy.source_record_id == record.id))
        if copy is None:
            return
        copy.deleted_at = copy.deleted_at or utcnow()
        message = session.get(MailMessage, copy.message_id)
        if message is not None:
            sync_entries(session, message)
