"""Reading mail at the reader's level, the review queue, manual links and private threads.

A message is visible to a principal through any client it is linked to (at that client's
level, capped by what its mailboxes share) and in full to the owners of its mailboxes. A
private thread shows only to its owners and the people they named. Reading a body is
audited; a message nobody may see is "not found".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.policy import Level, Principal, check
from hub.accounts.models import Account
from hub.clients.models import Contact, ContactEmail
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.mail.matching import rematch, sync_entries
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailThread, MessageClientLink
from hub.mail.schemas import MessageOut, ReviewItemOut
from hub.paging import Page, clamp_limit, decode_cursor, page_of

_RANK = {"metadata": Level.METADATA, "subject": Level.SUBJECT, "full": Level.FULL}


def _owners_and_share(session: Session, message_id: int) -> tuple[set[int], Level, bool]:
    rows = session.execute(
        select(Account.owner_user_id, Account.share_level, MailCopy.deleted_at)
        .join(MailCopy, MailCopy.account_id == Account.id)
        .where(MailCopy.message_id == message_id)).all()
    owners = {owner for owner, _, _ in rows}
    share = max((_RANK.get(level, Level.NONE) for _, level, _ in rows), default=Level.FULL)
    gone = bool(rows) and all(deleted is not None for _, _, deleted in rows)
    return owners, share, gone


def _live_clients(session: Session, message_id: int) -> list[int]:
    return list(session.scalars(select(MessageClientLink.client_id).where(
        MessageClientLink.message_id == message_id, MessageClientLink.removed.is_(False))))


def message_level(session: Session, principal: Principal, message: MailMessage,
                  at: datetime) -> tuple[Level, str]:
    """The reader's level on one message and the grant that gives it."""
    owners, share, _ = _owners_and_share(session, message.id)
    if principal.user_id in owners and principal.is_active:
        return Level.FULL, "owner"
    thread = session.get(MailThread, message.thread_id)
    if thread is not None and thread.is_private and principal.user_id not in thread.private_to:
        return Level.NONE, ""
    best, via = Level.NONE, ""
    for client_id in _live_clients(session, message.id):
        grant = check(session, principal, client_id, at)
        if grant is not None and min(grant.level, share) > best:
            best, via = min(grant.level, share), grant.reason
    return best, via


def _project(session: Session, message: MailMessage, level: Level) -> MessageOut:
    _, _, gone = _owners_and_share(session, message.id)
    people = session.execute(
        select(MailParticipant.role, MailParticipant.address, MailParticipant.name)
        .where(MailParticipant.message_id == message.id).order_by(MailParticipant.id)).all()
    out = MessageOut(
        id=message.id, thread_id=message.thread_id, level=level.label, sent_at=message.sent_at,
        participants=[{"role": r, "address": a, "name": n} for r, a, n in people],
        client_ids=sorted(_live_clients(session, message.id)), source_gone=gone,
        headers_only=message.headers_only, parse_failed=message.parse_failed)
    if level >= Level.SUBJECT:
        out.subject = message.subject
        out.automated = message.auto_submitted
    if level >= Level.FULL:
        out.snippet, out.text, out.html = message.snippet, message.text, message.html
        out.attachments = list(message.attachments or [])
    return out


def read_message(session: Session, principal: Principal, message_id: int,
                 at: datetime) -> MessageOut:
    message = session.get(MailMessage, message_id)
    level, via = (message_level(session, principal, message, at) if message
                  else (Level.NONE, ""))
    if message is None or level == Level.NONE:
        raise NotFound(f"no message with id {message_id} is visible to you")
    if level >= Level.FULL:
        audit.record(session, actor_user_id=principal.user_id, action="message.read",
                     entry_id=message.id, grant=via, own_transaction=True,
                     client_id=next(iter(_live_clients(session, message.id)), None),
                     detail={"message_id": message.id})
    return _project(session, message, level)


def read_thread(session: Session, principal: Principal, thread_id: int,
                at: datetime) -> tuple[MailThread, list[MessageOut]]:
    thread = session.get(MailThread, thread_id)
    shown: list[MessageOut] = []
    bodies: list[int] = []
    if thread is not None:
        for message in session.scalars(select(MailMessage).where(
                MailMessage.thread_id == thread_id).order_by(MailMessage.sent_at,
                                                             MailMessage.id)):
            level, _ = message_level(session, principal, message, at)
            if level > Level.NONE:
                shown.append(_project(session, message, level))
                if level >= Level.FULL:
                    bodies.append(message.id)
    if thread is None or not shown:
        raise NotFound(f"no thread with id {thread_id} is visible to you")
    if bodies:
        audit.record(session, actor_user_id=principal.user_id, action="thread.read",
                     own_transaction=True, detail={"thread_id": thread_id, "messages": bodies})
    return thread, shown


def _require_owner(session: Session, principal: Principal, message: MailMessage) -> None:
    owners, _, _ = _owners_and_share(session, message.id)
    if principal.user_id not in owners:
        raise PermissionDenied("only the owner of a mailbox holding this message may do this")


def review_queue(session: Session, principal: Principal, *, include_automated: bool = False,
                 limit: int | None = None, before: str | None = None) -> Page[ReviewItemOut]:
    """External mail in the principal's own mailboxes that matched no client."""
    size = clamp_limit(limit)
    mine = select(MailCopy.message_id).join(Account, Account.id == MailCopy.account_id).where(
        Account.owner_user_id == principal.user_id)
    linked = exists().where(MessageClientLink.message_id == MailMessage.id,
                            MessageClientLink.removed.is_(False))
    stmt = (select(MailMessage).where(MailMessage.id.in_(mine), ~linked,
                                      MailMessage.internal_only.is_(False))
            .order_by(MailMessage.id.desc()).limit(size + 1))
    if not include_automated:
        stmt = stmt.where(MailMessage.auto_submitted.is_(False))
    if before:
        stmt = stmt.where(MailMessage.id < int(decode_cursor(before)["id"]))
    page = page_of(list(session.scalars(stmt)), size, lambda m: {"id": m.id})
    return Page([ReviewItemOut(message_id=m.id, sent_at=m.sent_at, subject=m.subject,
                               sender_address=m.sender_address, sender_name=m.sender_name,
                               snippet=m.snippet, automated=m.auto_submitted)
                 for m in page.items], page.next)


def link(session: Session, principal: Principal, message_id: int, client_id: int,
         at: datetime, *, add_contact: bool = False) -> MessageOut:
    message = _decide(session, principal, message_id, client_id, removed=False)
    grant = check(session, principal, client_id, at)
    if grant is None or grant.level < Level.FULL:  # the request's transaction rolls back
        raise InvalidInput(f"no client with id {client_id} that you see in full",
                           field="client_id")
    sync_entries(session, message)
    if add_contact and message.sender_address:
        _add_contact(session, client_id, message)
        session.flush()
        rematch(session, addresses=[message.sender_address])  # their other mail follows
    audit.record(session, actor_user_id=principal.user_id, action="message.link",
                 client_id=client_id, entry_id=message_id)
    return _project(session, message, Level.FULL)


def unlink(session: Session, principal: Principal, message_id: int, client_id: int) -> None:
    # A tombstone: recalculation will not link it again.
    message = _decide(session, principal, message_id, client_id, removed=True)
    sync_entries(session, message)
    audit.record(session, actor_user_id=principal.user_id, action="message.unlink",
                 client_id=client_id, entry_id=message_id)


def _decide(session: Session, principal: Principal, message_id: int, client_id: int, *,
            removed: bool) -> MailMessage:
    """Record a person's link or unlink; automatic matching never touches it again."""
    message = session.get(MailMessage, message_id)
    if message is None:
        raise NotFound(f"no message with id {message_id}")
    _require_owner(session, principal, message)
    row = session.scalar(select(MessageClientLink).where(
        MessageClientLink.message_id == message_id, MessageClientLink.client_id == client_id))
    if row is None:
        row = MessageClientLink(message_id=message_id, client_id=client_id, origin="manual")
        session.add(row)
    row.origin, row.removed, row.decided_by = "manual", removed, principal.user_id
    session.flush()
    return message


def _add_contact(session: Session, client_id: int, message: MailMessage) -> None:
    address = message.sender_address
    known = session.scalar(select(ContactEmail.id).join(Contact).where(
        Contact.client_id == client_id, ContactEmail.email == address))
    if known is None:
        session.add(Contact(client_id=client_id, name=message.sender_name or address,
                            emails=[ContactEmail(email=address)]))


def set_private(session: Session, principal: Principal, thread_id: int, private: bool,
                visible_to: list[int]) -> MailThread:
    thread = session.get(MailThread, thread_id)
    if thread is None:
        raise NotFound(f"no thread with id {thread_id}")
    owned = session.scalar(select(exists().where(
        MailCopy.message_id == MailMessage.id, MailMessage.thread_id == thread_id,
        MailCopy.account_id == Account.id, Account.owner_user_id == principal.user_id)))
    if not owned:
        raise PermissionDenied("only an owner of this thread's mailbox may change its privacy")
    thread.is_private = private
    thread.private_by = principal.user_id if private else None
    thread.private_to = sorted(set(visible_to)) if private else []
    session.flush()
    for message in session.scalars(select(MailMessage).where(MailMessage.thread_id == thread_id)):
        sync_entries(session, message)
    audit.record(session, actor_user_id=principal.user_id, action="thread.privacy",
                 detail={"thread_id": thread_id, "private": private, "visible_to": visible_to})
    return thread

