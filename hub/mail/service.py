"""Reading mail at the reader's level, the review queue, manual links and private threads.

A message is visible to a principal through any client it is linked to (at that client's
level, capped by what its mailboxes share) and in full to the owners of its mailboxes. A
private thread shows only to its owners and the people they named. Reading a body is
audited; a message nobody may see is "not found".

Writes answer alike for what does not exist and what the caller may not see: a message,
thread or client (in the path) the caller may not see is 404, a client named in a body is
422 on its field, each with the message a missing id gets. Only then does a right
matter: a link or unlink needs a copy of the message in one of the caller's mailboxes and
the client in full. Responses list only the clients the reader may see.

Who may make a thread private: only someone whose own mailboxes hold every copy of every
message in it, since privacy hides all of them from colleagues; while a colleague holds a
copy too, the thread stays as shared as its mailboxes are. Whoever made a thread private
may always make it public again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level, widest_share
from hub.access.policy import Principal, check, client_levels
from hub.access.visibility import entry_level
from hub.accounts.models import Account
from hub.clients.addresses import require_free_address
from hub.clients.models import Contact, ContactEmail
from hub.clients.service import get_visible_client
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.mail.matching import rematch, sync_entries
from hub.mail.models import MailCopy, MailMessage, MailParticipant, MailThread, MessageClientLink
from hub.mail.schemas import MessageOut, ReviewItemOut
from hub.paging import Page, clamp_limit, decode_cursor, page_of
from hub.staff.models import User
from hub.staff.service import require_active_users


def _owners_and_share(session: Session, message_id: int) -> tuple[set[int], Level, bool]:
    rows = session.execute(
        select(Account.owner_user_id, Account.share_level, MailCopy.deleted_at)
        .join(MailCopy, MailCopy.account_id == Account.id)
        .where(MailCopy.message_id == message_id)).all()
    owners = {owner for owner, _, _ in rows}
    share = widest_share(level for _, level, _ in rows)
    gone = bool(rows) and all(deleted is not None for _, _, deleted in rows)
    return owners, share, gone


def _live_clients(session: Session, message_id: int) -> list[int]:
    return list(session.scalars(select(MessageClientLink.client_id).where(
        MessageClientLink.message_id == message_id, MessageClientLink.removed.is_(False))))


def message_level(session: Session, principal: Principal, message: MailMessage,
                  at: datetime) -> tuple[Level, str]:
    """The reader's level on one message and the grant that gives it: the best that
    :func:`entry_level` gives over the clients the message is linked to."""
    if not principal.is_active:
        return Level.NONE, ""
    owners, share, _ = _owners_and_share(session, message.id)
    thread = session.get(MailThread, message.thread_id)
    private_to = thread.private_to if thread is not None and thread.is_private else None

    def shown(client_level: Level) -> Level:
        return entry_level(client_level, reader_id=principal.user_id, owner_ids=owners,
                           share_level=share, private_to=private_to)

    if shown(Level.NONE) > Level.NONE:  # an owner's: seen whatever the clients
        return Level.FULL, "owner"
    if shown(Level.FULL) == Level.NONE:  # private: hidden whatever the clients
        return Level.NONE, ""
    best, via = Level.NONE, ""
    for client_id in _live_clients(session, message.id):
        grant = check(session, principal, client_id, at)
        if grant is not None and shown(grant.level) > best:
            best, via = shown(grant.level), grant.reason
    return best, via


def _project(session: Session, principal: Principal, message: MailMessage, level: Level,
             at: datetime) -> MessageOut:
    _, _, gone = _owners_and_share(session, message.id)
    # Even a mailbox's owner sees only the clients the policy shows them: the ids of the
    # others would tell which other clients the firm has.
    shown = client_levels(session, principal, at, _live_clients(session, message.id))
    people = session.execute(
        select(MailParticipant.role, MailParticipant.address, MailParticipant.name)
        .where(MailParticipant.message_id == message.id).order_by(MailParticipant.id)).all()
    out = MessageOut(
        id=message.id, thread_id=message.thread_id, level=level.label, sent_at=message.sent_at,
        participants=[{"role": r, "address": a, "name": n} for r, a, n in people],
        client_ids=sorted(shown), source_gone=gone,
        headers_only=message.headers_only, parse_failed=message.parse_failed)
    if level >= Level.SUBJECT:
        out.subject = message.subject
        out.automated = message.auto_submitted
    if level >= Level.FULL:
        out.snippet, out.text, out.html = message.snippet, message.text, message.html
        out.attachments = list(message.attachments or [])
    return out


def _not_visible(what: str, object_id: int) -> NotFound:
    return NotFound(f"no {what} with id {object_id} is visible to you")


def _visible_message(session: Session, principal: Principal, message_id: int,
                     at: datetime) -> tuple[MailMessage, Level, str]:
    message = session.get(MailMessage, message_id)
    level, via = (message_level(session, principal, message, at) if message
                  else (Level.NONE, ""))
    if message is None or level == Level.NONE:
        raise _not_visible("message", message_id)
    return message, level, via


def read_message(session: Session, principal: Principal, message_id: int,
                 at: datetime) -> MessageOut:
    message, level, via = _visible_message(session, principal, message_id, at)
    if level >= Level.FULL:
        audit.record(session, actor_user_id=principal.user_id, action="message.read",
                     entry_id=message.id, grant=via, own_transaction=True,
                     client_id=next(iter(_live_clients(session, message.id)), None),
                     detail={"message_id": message.id})
    return _project(session, principal, message, level, at)


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
                shown.append(_project(session, principal, message, level, at))
                if level >= Level.FULL:
                    bodies.append(message.id)
    if thread is None or not shown:
        raise _not_visible("thread", thread_id)
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
        stmt = stmt.where(MailMessage.id < decode_cursor(before, {"id": int})["id"])
    page = page_of(list(session.scalars(stmt)), size, lambda m: {"id": m.id})
    return Page([ReviewItemOut(message_id=m.id, sent_at=m.sent_at, subject=m.subject,
                               sender_address=m.sender_address, sender_name=m.sender_name,
                               snippet=m.snippet, automated=m.auto_submitted)
                 for m in page.items], page.next)


def link(session: Session, principal: Principal, message_id: int, client_id: int,
         at: datetime, *, add_contact: bool = False) -> MessageOut:
    message = _owned_message(session, principal, message_id, at)
    try:
        _client_in_full(session, principal, client_id, at, "linking")
    except NotFound as exc:  # a body's id is bad input, said as for a missing client
        raise InvalidInput(exc.message, field="client_id") from exc
    if add_contact and message.sender_address:
        require_free_address(session, message.sender_address, client_id, field="add_contact")
    _decide(session, principal, message, client_id, removed=False)
    sync_entries(session, message)
    if add_contact and message.sender_address:
        _add_contact(session, client_id, message)
        session.flush()
        rematch(session, addresses=[message.sender_address])  # their other mail follows
    audit.record(session, actor_user_id=principal.user_id, action="message.link",
                 client_id=client_id, entry_id=message_id)
    return _project(session, principal, message, Level.FULL, at)


def unlink(session: Session, principal: Principal, message_id: int, client_id: int,
           at: datetime) -> None:
    # A tombstone: recalculation will not link it again.
    message = _owned_message(session, principal, message_id, at)
    _client_in_full(session, principal, client_id, at, "unlinking")
    _decide(session, principal, message, client_id, removed=True)
    sync_entries(session, message)
    audit.record(session, actor_user_id=principal.user_id, action="message.unlink",
                 client_id=client_id, entry_id=message_id)


def _owned_message(session: Session, principal: Principal, message_id: int,
                   at: datetime) -> MailMessage:
    """A message the principal sees and holds a copy of (404 when unseen, 403 when only seen)."""
    message, _, _ = _visible_message(session, principal, message_id, at)
    _require_owner(session, principal, message)
    return message


def _client_in_full(session: Session, principal: Principal, client_id: int, at: datetime,
                    doing: str) -> None:
    _, grant = get_visible_client(session, principal, client_id, at)
    if grant.level < Level.FULL:
        raise PermissionDenied(
            f"you see client {client_id} only at the '{grant.level.label}' level; "
            f"{doing} mail needs full access - ask its responsible person to do it")


def _decide(session: Session, principal: Principal, message: MailMessage, client_id: int, *,
            removed: bool) -> None:
    """Record a person's link or unlink; automatic matching never touches it again."""
    row = session.scalar(select(MessageClientLink).where(
        MessageClientLink.message_id == message.id, MessageClientLink.client_id == client_id))
    if row is None:
        row = MessageClientLink(message_id=message.id, client_id=client_id, origin="manual")
        session.add(row)
    row.origin, row.removed, row.decided_by = "manual", removed, principal.user_id
    session.flush()


def _add_contact(session: Session, client_id: int, message: MailMessage) -> None:
    address = message.sender_address
    known = session.scalar(select(ContactEmail.id).join(Contact).where(
        Contact.client_id == client_id, ContactEmail.email == address))
    if known is None:
        session.add(Contact(client_id=client_id, name=message.sender_name or address,
                            emails=[ContactEmail(email=address)]))


def set_private(session: Session, principal: Principal, thread_id: int, private: bool,
                visible_to: list[int], at: datetime) -> MailThread:
    """Make a thread private (seen by its mailboxes' owners and ``visible_to``) or public.

    Privacy hides every copy in the thread, so only someone whose own mailboxes hold every
    copy may make it private; whoever made it private may always make it public again.
    """
    thread = session.get(MailThread, thread_id)
    messages = list(session.scalars(select(MailMessage).where(
        MailMessage.thread_id == thread_id))) if thread is not None else []
    if thread is None or all(message_level(session, principal, m, at)[0] == Level.NONE
                             for m in messages):
        raise _not_visible("thread", thread_id)
    holders = dict(session.execute(
        select(Account.owner_user_id, User.email).distinct()
        .join(User, User.id == Account.owner_user_id)
        .join(MailCopy, MailCopy.account_id == Account.id)
        .join(MailMessage, MailMessage.id == MailCopy.message_id)
        .where(MailMessage.thread_id == thread_id)).all())
    if principal.user_id not in holders:
        raise PermissionDenied("only an owner of a mailbox holding this thread may change its "
                               "privacy; ask them")
    others = sorted(email for uid, email in holders.items() if uid != principal.user_id)
    undoing = not private and (not thread.is_private or thread.private_by == principal.user_id)
    if others and not undoing:
        raise PermissionDenied(
            f"this thread is also in the mailbox of {', '.join(others)}; only someone whose "
            "own mailboxes hold every message of a thread may change its privacy, so it stays "
            "as shared as each mailbox is - ask them to lower their mailbox's share level")
    visible_to = require_active_users(session, visible_to, field="visible_to")
    thread.is_private = private
    thread.private_by = principal.user_id if private else None
    thread.private_to = sorted(visible_to) if private else []
    session.flush()
    for message in messages:
        sync_entries(session, message)
    audit.record(session, actor_user_id=principal.user_id, action="thread.privacy",
                 detail={"thread_id": thread_id, "private": private, "visible_to": visible_to})
    return thread
