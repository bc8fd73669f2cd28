"""Which clients a message belongs to, and keeping its timeline entries in step.

By contact address first (exact), then by the client's mail domains; public free-mail
domains and the firm's own domains never identify a client. Mail in which everyone is
internal (the firm's domains, or a staff member's address) is not client mail. A message
may belong to several clients. A person's manual link or unlink is final: automatic
matching never adds, changes or removes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.access.levels import widest_share
from hub.accounts.models import Account
from hub.clients.freemail import is_free_mail
from hub.clients.models import ClientDomain, Contact, ContactEmail
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailThread, MessageClientLink
from hub.settings import get_settings
from hub.staff.models import User
from hub.timeline.models import TimelineEntry


@dataclass(frozen=True)
class Directory:
    """Who is who, read once for many messages: staff addresses, the firm's domains, and
    which clients each contact address and client domain points to."""

    staff: set[str]
    firm: set[str]
    contacts: dict[str, set[int]] = field(default_factory=dict)
    domains: dict[str, set[int]] = field(default_factory=dict)

    def is_internal(self, address: str) -> bool:
        return address in self.staff or address.rpartition("@")[2] in self.firm


def load_directory(session: Session) -> Directory:
    directory = Directory(staff=set(session.scalars(select(User.email))),
                          firm={d.lower() for d in get_settings().firm_domains})
    for email, client_id in session.execute(
            select(ContactEmail.email, Contact.client_id)
            .join(Contact, Contact.id == ContactEmail.contact_id)):
        directory.contacts.setdefault(email, set()).add(client_id)
    for domain, client_id in session.execute(select(ClientDomain.domain,
                                                    ClientDomain.client_id)):
        directory.domains.setdefault(domain, set()).add(client_id)
    return directory


def clients_for(addresses: Iterable[str],
                directory: Directory) -> tuple[bool, dict[int, str]]:
    """(internal only?, {client id: "contact" | "domain"}) for a message's participants."""
    addresses = set(addresses)
    external = {a for a in addresses if a and not directory.is_internal(a)}
    wanted: dict[int, str] = {}
    for address in external:
        domain = address.rpartition("@")[2]
        if not is_free_mail(domain) and domain not in directory.firm:
            for client_id in directory.domains.get(domain, ()):
                wanted.setdefault(client_id, "domain")
    for address in external:
        for client_id in directory.contacts.get(address, ()):
            wanted[client_id] = "contact"
    return bool(addresses) and not external, wanted


def match(session: Session, message: MailMessage, directory: Directory | None = None,
          *, new: bool = False) -> None:
    """Recalculate the automatic links of one message and its timeline entries.
    ``new``: the message was just created, so it has no links and no entries yet."""
    directory = directory or load_directory(session)
    addresses = set(session.scalars(
        select(MailParticipant.address).where(MailParticipant.message_id == message.id)))
    message.internal_only, wanted = clients_for(addresses, directory)
    links = {} if new else {link.client_id: link for link in session.scalars(
        select(MessageClientLink).where(MessageClientLink.message_id == message.id))}
    for client_id, link in links.items():
        if link.origin == "manual":
            continue
        if client_id in wanted:
            link.origin = wanted[client_id]
        else:
            session.delete(link)
    for client_id, origin in wanted.items():
        if client_id not in links:
            session.add(MessageClientLink(message_id=message.id, client_id=client_id,
                                          origin=origin))
    if wanted or links:
        session.flush()
        sync_entries(session, message)


def rematch(session: Session, *, addresses: Iterable[str] = (),
            domains: Iterable[str] = ()) -> int:
    """Re-match past mail after a contact address or a client domain was added."""
    addresses, domains = list(addresses), list(domains)
    if not addresses and not domains:
        return 0
    ids = set(session.scalars(select(MailParticipant.message_id).where(
        (MailParticipant.address.in_(addresses)) | (MailParticipant.domain.in_(domains)))))
    directory = load_directory(session)
    for message_id in sorted(ids):
        message = session.get(MailMessage, message_id)
        if message is not None:
            match(session, message, directory)
    return len(ids)


def sync_entries(session: Session, message: MailMessage) -> None:
    """One timeline entry per (client, message) for the message's live links."""
    live = set(session.scalars(select(MessageClientLink.client_id).where(
        MessageClientLink.message_id == message.id, MessageClientLink.removed.is_(False))))
    ref = f"mail:{message.id}"
    existing = {e.client_id: e for e in session.scalars(select(TimelineEntry).where(
        TimelineEntry.source_kind == "mail", TimelineEntry.source_ref == ref))}
    for client_id, entry in existing.items():
        if client_id not in live:
            session.delete(entry)
    copies = list(session.execute(
        select(MailCopy.deleted_at, Account.owner_user_id, Account.share_level)
        .join(Account, Account.id == MailCopy.account_id)
        .where(MailCopy.message_id == message.id)).all())
    owners = sorted({owner for _, owner, _ in copies})
    share = widest_share(level for _, _, level in copies).label
    gone = bool(copies) and all(deleted is not None for deleted, _, _ in copies)
    thread = session.get(MailThread, message.thread_id)
    participants = list(session.scalars(
        select(MailParticipant.address).where(MailParticipant.message_id == message.id)
        .order_by(MailParticipant.id)).unique())
    values = entry_values(
        message, owners=owners, share=share, gone=gone,
        private_to=list(thread.private_to) if thread and thread.is_private else None,
        participants=list(dict.fromkeys(participants)))
    for client_id in live:
        entry = existing.get(client_id) or TimelineEntry(
            client_id=client_id, kind="message", source_kind="mail", source_ref=ref)
        session.add(entry)
        for name, value in values.items():
            setattr(entry, name, value)
    session.flush()


class EntrySource(Protocol):
    """What a timeline entry shows of a message: a stored one, or a row being written."""

    id: int
    sent_at: datetime
    subject: str
    snippet: str
    sender_address: str
    attachments: list[dict[str, Any]]
    auto_submitted: bool


def entry_values(message: EntrySource, *, owners: list[int], share: str, gone: bool,
                 private_to: list[int] | None, participants: list[str]) -> dict[str, Any]:
    """The columns of a message's timeline entry (the same for each of its clients).
    ``private_to`` is None unless the thread is private."""
    return {
        "occurred_at": message.sent_at,
        "title": message.subject[:500],
        "summary": message.snippet,
        "body": "",  # the body is read through /messages/{id}, where it is audited
        "actor_user_id": None,
        "owner_user_id": owners[0] if owners else None,
        "owner_ids": owners,
        "share_level": share,
        "is_private": private_to is not None,
        "private_to": list(private_to or []),
        "extra": {
            "message_id": message.id,
            "from": message.sender_address,
            "participants": participants,
            "attachments": len(message.attachments or []),
            "source_gone": gone,
            "automated": message.auto_submitted,
        },
    }


def reshare(session: Session, account: Account) -> int:
    """After a mailbox's share level changed: its messages' timeline entries take the level
    the mailboxes holding them share now (colleagues see past mail as it is shared today,
    not as it was when it synced). Returns how many messages were brought up to date."""
    ids = sorted(set(session.scalars(
        select(MailCopy.message_id).join(
            MessageClientLink, MessageClientLink.message_id == MailCopy.message_id)
        .where(MailCopy.account_id == account.id, MessageClientLink.removed.is_(False)))))
    for start in range(0, len(ids), 500):
        for message in session.scalars(select(MailMessage).where(
                MailMessage.id.in_(ids[start:start + 500]))):
            sync_entries(session, message)
    return len(ids)


def forget_entries(session: Session, message_id: int) -> None:
    session.execute(delete(TimelineEntry).where(
        TimelineEntry.source_kind == "mail", TimelineEntry.source_ref == f"mail:{message_id}"))
