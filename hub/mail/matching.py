"""Which clients a message belongs to, and keeping its timeline entries in step.

By contact address first (exact), then by the client's mail domains; public free-mail
domains and the firm's own domains never identify a client. Mail in which everyone is
internal (the firm's domains, or a staff member's address) is not client mail. A message
may belong to several clients. A person's manual link or unlink is final: automatic
matching never adds, changes or removes it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.clients.freemail import is_free_mail
from hub.clients.models import ClientDomain, Contact, ContactEmail
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailThread, MessageClientLink
from hub.settings import get_settings
from hub.staff.models import User
from hub.timeline.models import TimelineEntry

_RANK = {"metadata": 1, "subject": 2, "full": 3}


def is_internal(address: str, staff: set[str], firm_domains: set[str]) -> bool:
    domain = address.rpartition("@")[2]
    return address in staff or domain in firm_domains


def internal_sets(session: Session) -> tuple[set[str], set[str]]:
    staff = set(session.scalars(select(User.email)))
    firm = {d.lower() for d in get_settings().firm_domains}
    return staff, firm


def match(session: Session, message: MailMessage,
          internal: tuple[set[str], set[str]] | None = None) -> None:
    """Recalculate the automatic links of one message and its timeline entries."""
    staff, firm = internal or internal_sets(session)
    addresses = set(session.scalars(
        select(MailParticipant.address).where(MailParticipant.message_id == message.id)))
    external = {a for a in addresses if a and not is_internal(a, staff, firm)}
    message.internal_only = bool(addresses) and not external
    wanted: dict[int, str] = {}
    if external:
        domains = {a.rpartition("@")[2] for a in external}
        domains = {d for d in domains if not is_free_mail(d) and d not in firm}
        for client_id in session.scalars(
            select(ClientDomain.client_id).where(ClientDomain.domain.in_(domains))
        ):
            wanted[client_id] = "domain"
        for client_id in session.scalars(
            select(Contact.client_id).join(ContactEmail, ContactEmail.contact_id == Contact.id)
            .where(ContactEmail.email.in_(external))
        ):
            wanted[client_id] = "contact"
    links = {link.client_id: link for link in session.scalars(
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
    internal = internal_sets(session)
    for message_id in sorted(ids):
        message = session.get(MailMessage, message_id)
        if message is not None:
            match(session, message, internal)
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
    share = max((level for _, _, level in copies), key=lambda lv: _RANK.get(lv, 0),
                default="full")
    gone = bool(copies) and all(deleted is not None for deleted, _, _ in copies)
    thread = session.get(MailThread, message.thread_id)
    participants = list(session.scalars(
        select(MailParticipant.address).where(MailParticipant.message_id == message.id)
        .order_by(MailParticipant.id)).unique())
    for client_id in live:
        entry = existing.get(client_id) or TimelineEntry(
            client_id=client_id, kind="message", source_kind="mail", source_ref=ref)
        session.add(entry)
        entry.occurred_at = message.sent_at
        entry.title = message.subject[:500]
        entry.summary = message.snippet
        entry.body = ""  # the body is read through /messages/{id}, where it is audited
        entry.actor_user_id = None
        entry.owner_user_id = owners[0] if owners else None
        entry.owner_ids = owners
        entry.share_level = share
        entry.is_private = bool(thread and thread.is_private)
        entry.private_to = list(thread.private_to) if thread and thread.is_private else []
        entry.extra = {
            "message_id": message.id,
            "from": message.sender_address,
            "participants": list(dict.fromkeys(participants)),
            "attachments": len(message.attachments or []),
            "source_gone": gone,
            "automated": message.auto_submitted,
        }
    session.flush()


def forget_entries(session: Session, message_id: int) -> None:
    session.execute(delete(TimelineEntry).where(
        TimelineEntry.source_kind == "mail", TimelineEntry.source_ref == f"mail:{message_id}"))
