"""One fetched mailbox copy on its way into the timeline, and filing it on its own.

The same message in several colleagues' mailboxes (To and Cc both, or a forwarded copy
with the same Message-ID) is one message with a copy per mailbox folder; a message moved
between folders is one message whose old copy is marked gone and new copy added. The
message keeps the bytes of its first full copy; a later copy's bytes are dropped, but
for a full copy of a message first seen headers-only, whose bytes then replace the
headers.

A copy's owner sees the message in full, so a copy joins a stored message only when it
holds the same mail (:func:`holds_same_mail`): a Message-ID is no secret, and mail that
merely carries one must not open a colleague's message to whoever imports it. A copy
that does not is a message of its own, keyed by its bytes, in the same thread.

:func:`file_one` is the reference the set-based path (:mod:`hub.mail.bulk`) must equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.mail.fields import (
    attachment_rows,
    folder_of,
    message_columns,
    message_key,
    references,
    sent_time,
    unique_people,
)
from hub.mail.matching import Directory, match, sync_entries
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailRaw
from hub.mail.threading import find_or_create_thread
from hub.sync.parsed_mail import ParsedMail
from hub.sync.records import Record


@dataclass(slots=True, eq=False)
class Arrival:
    record: Record
    raw_id: int
    sha256: str
    parsed: ParsedMail
    flags: list[str]
    headers_only: bool
    #: Bytes of this copy that filing found to be a duplicate: deleted with the batch.
    dropped: list[int] = field(default_factory=list)
    #: Set when the copy's Message-ID names other mail: the copy's own key, its bytes'.
    own_key: str | None = None

    @property
    def key(self) -> str:
        return self.own_key or message_key(self.parsed, self.sha256)

    @property
    def folder(self) -> str:
        # An IMAP copy's folder is what its stream reads; an archive keeps its own.
        return str(self.record.data.get("folder") or folder_of(self.record.stream))

    @property
    def sent_at(self) -> datetime:
        return sent_time(self.parsed, self.record.occurred_at)

    @property
    def failed(self) -> bool:
        return self.parsed.failed


def file_one(session: Session, account: Account, arrival: Arrival, directory: Directory) -> None:
    record, parsed = arrival.record, arrival.parsed
    # A record never filed before has no copy: spare the query on first syncs.
    copy = None if record.target_id is None else session.scalar(
        select(MailCopy).where(MailCopy.source_record_id == record.id))
    message = session.scalar(select(MailMessage).where(MailMessage.message_key == arrival.key))
    if message is not None and not holds_same_mail(session, message, arrival):
        arrival.own_key = f"sha256:{arrival.sha256}"
        message = session.scalar(
            select(MailMessage).where(MailMessage.message_key == arrival.key))
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


def holds_same_mail(session: Session, message: MailMessage, arrival: Arrival) -> bool:
    """Does the copy hold the stored message's mail? The same bytes; or the same sender,
    subject and Date and - when both hold a body - the same attachments and text (see
    :func:`_same_text`: a footer or banner added on the way is let through). A copy of
    headers only joins no message that has its body: it would open the body to the
    copy's owner."""
    if session.scalar(select(MailRaw.sha256).where(
            MailRaw.id == message.raw_id)) == arrival.sha256:
        return True
    parsed = arrival.parsed
    if parsed.failed or message.parse_failed:
        return False
    sender = parsed.sender.address if parsed.sender else ""
    if (sender[:320].lower() != message.sender_address.lower()
            or parsed.subject != message.subject
            or parsed.date != message.sent_at):
        return False
    if arrival.headers_only or message.headers_only:
        return message.headers_only  # a full copy fills a message of headers only
    return (_same_text(parsed.text or parsed.html, message.text or message.html)
            and _files(attachment_rows(parsed.attachments)) == _files(message.attachments))


def _same_text(copy: str, stored: str) -> bool:
    """The same text, but for a footer or banner one side has: the copy may hold more
    than the stored message (it opens nothing its owner lacks), but less only by a part
    smaller than what it holds - a greeting is no key to a body."""
    copy, stored = " ".join(copy.split()), " ".join(stored.split())
    if copy == stored:
        return True
    if stored and (copy.startswith(stored) or copy.endswith(stored)):
        return True
    return (bool(copy) and 2 * len(copy) >= len(stored)
            and (stored.startswith(copy) or stored.endswith(copy)))


def _files(attachments: Iterable[Mapping[str, Any]] | None) -> list[tuple[object, object]]:
    return sorted(((a.get("filename"), a.get("size")) for a in attachments or []), key=str)


def _create(session: Session, arrival: Arrival) -> MailMessage:
    parsed = arrival.parsed
    people = unique_people(parsed)
    # A copy keyed by its bytes still belongs with the mail its Message-ID names.
    named = message_key(parsed, arrival.sha256)
    thread = find_or_create_thread(
        session, keys=list(dict.fromkeys([arrival.key, named, *references(parsed)])),
        subject=parsed.subject,
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


def _fill(message: MailMessage, parsed: ParsedMail) -> None:
    for name, value in message_columns(parsed).items():
        setattr(message, name, value)
