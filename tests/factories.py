"""Builders of rows for tests; each commits nothing, the caller decides."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.access.models import AccessRule, Cover
from hub.accounts.models import Account
from hub.clients.models import Client, ClientGroup, Responsibility, SpecialGroup
from hub.folders.models import FolderAction
from hub.mail.models import MailCopy, MailMessage, MailRaw, MailThread, MessageClientLink
from hub.staff.models import ApiToken, User
from hub.staff.service import TOKEN_PREFIX, hash_token
from hub.sync.models import SourceRecord
from hub.timeline.models import TimelineEntry

_seq = itertools.count(1)


def user(session: Session, *, admin: bool = False, active: bool = True, name: str = "") -> User:
    n = next(_seq)
    row = User(email=f"user{n}@firm.test", name=name or f"User {n}", is_admin=admin,
               is_active=active)
    session.add(row)
    session.flush()
    return row


def token(session: Session, who: User) -> str:
    """A working token for ``who``, as a row like the others here: no audit row, which
    tests that count the trail's rows would trip on (tests/staff covers the service's)."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=who.id, name="", prefix=value[:10],
                         token_hash=hash_token(value)))
    session.flush()
    return value


def client(session: Session, *, group: ClientGroup | None = None,
           specials: list[SpecialGroup] | None = None, name: str = "") -> Client:
    n = next(_seq)
    row = Client(name=name or f"Client {n} Oy", name_key=(name or f"Client {n} Oy").casefold(),
                 customer_number=100000 + n, status="active",
                 group_id=group.id if group else None, special_groups=specials or [])
    session.add(row)
    session.flush()
    return row


def group(session: Session) -> ClientGroup:
    row = ClientGroup(name=f"Group {next(_seq)}", starting_customer_number=1000)
    session.add(row)
    session.flush()
    return row


def special(session: Session) -> SpecialGroup:
    row = SpecialGroup(name=f"Special {next(_seq)}", description="")
    session.add(row)
    session.flush()
    return row


def responsibility(session: Session, who: User, of: Client, role: str = "asiakasvastaava",
                   start: datetime | None = None, end: datetime | None = None) -> Responsibility:
    row = Responsibility(user_id=who.id, client_id=of.id, role=role, valid_from=start,
                         valid_until=end)
    session.add(row)
    session.flush()
    return row


def cover(session: Session, absent: User, covering: User, start: datetime, end: datetime,
          clients: list[Client] | None = None) -> Cover:
    row = Cover(absent_user_id=absent.id, covering_user_id=covering.id, valid_from=start,
                valid_until=end, clients=clients or [], narrowed=bool(clients))
    session.add(row)
    session.flush()
    return row


def rule(session: Session, subject: str, level: str, *, role: str | None = None,
         group: ClientGroup | None = None, special: SpecialGroup | None = None) -> AccessRule:
    row = AccessRule(subject=subject, role=role, level=level,
                     client_group_id=group.id if group else None,
                     special_group_id=special.id if special else None)
    session.add(row)
    session.flush()
    return row


def account(session: Session, owner: User, *, kind: str = "local",
            settings: dict[str, Any] | None = None) -> Account:
    row = Account(owner_user_id=owner.id, kind=kind, name=f"Account {next(_seq)}",
                  settings=settings if settings is not None else {"path": "/nonexistent"})
    session.add(row)
    session.flush()
    return row


def message(session: Session, mailbox: Account, *, to: Client | None = None,
            sent_at: datetime | None = None) -> MailMessage:
    """A filed message in ``mailbox`` (a copy in its INBOX), linked to ``to`` if given,
    with its thread and, when linked, the client's timeline entry."""
    n = next(_seq)
    raw_bytes = f"Message-ID: <m{n}@firm.test>\r\nSubject: Viesti {n}\r\n\r\nrunko\r\n".encode()
    raw = MailRaw(sha256=hashlib.sha256(raw_bytes).hexdigest(), raw=raw_bytes)
    thread = MailThread(subject_key=f"viesti {n}")
    session.add_all([raw, thread])
    session.flush()
    when = sent_at or datetime.now(UTC)
    row = MailMessage(message_key=f"m{n}@firm.test", thread_id=thread.id, raw_id=raw.id,
                      subject=f"Viesti {n}", sender_address="asiakas@client.test",
                      sent_at=when)
    record = SourceRecord(account_id=mailbox.id, stream="mail:INBOX", external_id=f"{n}",
                          kind="message", occurred_at=when)
    session.add_all([row, record])
    session.flush()
    record.target_id = row.id
    session.add(MailCopy(message_id=row.id, account_id=mailbox.id,
                         source_record_id=record.id, folder="INBOX"))
    if to is not None:
        session.add(MessageClientLink(message_id=row.id, client_id=to.id, origin="contact"))
        entry(session, to, kind="message", source_kind="mail", source_ref=f"mail:{row.id}",
              owner=mailbox.owner_user_id)
    session.flush()
    return row


def entry(session: Session, of: Client, *, kind: str = "note", source_kind: str = "note",
          source_ref: str = "", owner: int | None = None) -> TimelineEntry:
    row = TimelineEntry(client_id=of.id, kind=kind, occurred_at=datetime.now(UTC),
                        title=f"Entry {next(_seq)}", source_kind=source_kind,
                        source_ref=source_ref or f"note:{next(_seq)}", owner_user_id=owner,
                        owner_ids=[owner] if owner is not None else [])
    session.add(row)
    session.flush()
    return row


def folder_action(session: Session, drive: Account, of: Client, *,
                  status: str = "proposed") -> FolderAction:
    row = FolderAction(account_id=drive.id, client_id=of.id, kind="create",
                       path=f"{of.customer_number} {of.name}/Sopimukset", finding="missing",
                       status=status)
    session.add(row)
    session.flush()
    return row
