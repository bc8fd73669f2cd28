"""One fetched mailbox copy on its way into the timeline, and filing it on its own.

The same message in several colleagues' mailboxes (To and Cc both, or a forwarded copy
with the same Message-ID) is one message with a copy per mailbox folder; a message moved
between folders is one message whose old copy is marked gone and new copy added. The
message keeps the bytes of its first full copy; a later copy's bytes are dropped, but
for a full copy of a message first seen headers-only, whose bytes then replace the
headers.

:func:`file_one` is the reference the set-based path (:mod:`hub.mail.bulk`) must equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.mail.fields import (
    folder_of,
    message_columns,
    message_key,
    references,
    sent_time,
    unique_people,
)
from hub.mail.matching import Directory, match, sync_entries
from hub.mail.models import MailCopy, MailMessage, MailParticipant
from hub.mail.threading import find_or_create_thread
from hub.sync.records import Record


@dataclass(slots=True, eq=False)
class Arrival:
    record: Record
    raw_id: int
    sha256: str
    parsed: dict[str, Any]
    flags: list[str]
    headers_only: bool
    #: Bytes of this copy that filing found to be a duplicate: deleted with the batch.
    dropped: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return message_key(self.parsed, self.sha256)

    @property
    def folder(self) -> str:
        # An IMAP copy's folder is what its stream reads; an archive keeps its own.
        return str(self.record.data.get("folder") or folder_of(self.record.stream))

    @property
    def sent_at(self) -> datetime:
        return sent_time(self.parsed.get("date"), self.record.occurred_at)

    @property
    def failed(self) -> bool:
        return bool(self.parsed.get("failed"))


def file_one(session: Session, account: Account, arrival: Arrival, directory: Directory) -> None:
    record, parsed = arrival.record, arrival.parsed
    # A record never filed before has no copy: spare the query on first syncs.
    copy = None if record.target_id is None else session.scalar(
        select(MailCopy).where(MailCopy.source_record_id == record.id))
    message = session.scalar(select(MailMessage).where(MailMessage.message_key == arrival.key))
    created = message is None
    if message is None:
        message = _create(session, arrival)
    elif message.headers_only and not arrival.headers_only:
        _fill(message, parsed)  # a full copy of a message first seen headers-only
        message.headers_only = False
        if message.raw_id != arrival.raw_id:
            arrival.dropped.append(message.raw_id)
            message.raw_id = arrival.raw_id
    elif message.raw_id != arrival.raw_id:
        arrival.dropped.append(arrival.raw_id)
    if copy is None:
        copy = MailCopy(message_id=message.id, account_id=account.id,
                        source_record_id=record.id, folder=arrival.folder)
        session.add(copy)
    copy.message_id = message.id
    copy.folder = arrival.folder or copy.folder
    copy.flags = list(arrival.flags)
    copy.deleted_at = record.deleted_at
    record.target_id = message.id
    session.flush()
    if created:
        match(session, message, directory, new=True)
    else:
        sync_entries(session, message)


def _create(session: Session, arrival: Arrival) -> MailMessage:
    parsed = arrival.parsed
    people = unique_people(parsed)
    thread = find_or_create_thread(
        session, keys=[arrival.key, *references(parsed)], subject=parsed.get("subject") or "",
        participants={a for _, a, _ in people}, sent_at=arrival.sent_at)
    message = MailMessage(message_key=arrival.key, thread_id=thread.id,
                          sent_at=arrival.sent_at, headers_only=arrival.headers_only,
                          raw_id=arrival.raw_id)
    _fill(message, parsed)
    session.add(message)
    session.flush()
    for role, address, name in people:
        session.add(MailParticipant(message_id=message.id, address=address[:320],
                                    domain=address.rpartition("@")[2][:253],
                                    name=name[:300], role=role))
    session.flush()
    return message


def _fill(message: MailMessage, parsed: dict[str, Any]) -> None:
    for name, value in message_columns(parsed).items():
        setattr(message, name, value)
