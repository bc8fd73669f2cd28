"""A thread as the thread view shows it: the messages at the reader's level, read through
:func:`hub.mail.service.read_thread` (which decides access and audits the read), and what
the page offers around them.

- the names of the linked clients the reader sees (message responses carry only ids);
- which messages the reader holds in a mailbox of their own: only those may they link or
  unlink, and only to or from a client they see in full;
- whether the reader may make the thread private, or public again, by the rule
  :func:`hub.mail.service.set_private` enforces: a mailbox of theirs holds a copy and no
  colleague's does, or they are the one who made it private.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.levels import Level
from hub.access.policy import Principal, client_levels
from hub.accounts.models import Account
from hub.clients.models import Client
from hub.mail.models import MailCopy, MailMessage, MailThread
from hub.mail.schemas import MessageOut
from hub.mail.service import read_thread


@dataclass(frozen=True, slots=True)
class Conversation:
    thread: MailThread
    #: Oldest first, each at the reader's level.
    messages: list[MessageOut]
    #: The name of every client a shown message is linked to (only clients the reader sees).
    client_names: dict[int, str]
    #: Messages with a copy in one of the reader's own mailboxes.
    held: frozenset[int]
    #: Clients the reader sees in full, by name: where they may link their mail.
    link_targets: list[tuple[int, str]]
    #: May the reader make the thread private (or, when it is, public again)?
    may_change_privacy: bool

    def may_unlink(self, client_id: int) -> bool:
        return any(target == client_id for target, _ in self.link_targets)


def conversation(session: Session, principal: Principal, thread_id: int,
                 at: datetime) -> Conversation:
    """The thread for the thread view; NotFound when the reader sees none of it."""
    thread, messages = read_thread(session, principal, thread_id, at)
    linked = {client_id for message in messages for client_id in message.client_ids}
    names = {cid: name for cid, name in session.execute(
        select(Client.id, Client.name).where(Client.id.in_(linked)))}
    owners = set(session.scalars(
        select(Account.owner_user_id).distinct()
        .join(MailCopy, MailCopy.account_id == Account.id)
        .join(MailMessage, MailMessage.id == MailCopy.message_id)
        .where(MailMessage.thread_id == thread.id)))
    held = frozenset(session.scalars(
        select(MailCopy.message_id).join(Account, Account.id == MailCopy.account_id)
        .join(MailMessage, MailMessage.id == MailCopy.message_id)
        .where(MailMessage.thread_id == thread.id,
               Account.owner_user_id == principal.user_id)))
    targets: list[tuple[int, str]] = []
    if held:
        full = [cid for cid, level in client_levels(session, principal, at).items()
                if level >= Level.FULL]
        targets = sorted(((cid, name) for cid, name in session.execute(
            select(Client.id, Client.name).where(Client.id.in_(full)))),
            key=lambda t: (t[1].casefold(), t[0]))
    alone = owners == {principal.user_id}
    undoing = thread.is_private and thread.private_by == principal.user_id
    may_change = principal.user_id in owners and (alone or undoing)
    return Conversation(thread, messages, names, held, targets, may_change)


__all__ = ["Conversation", "conversation"]
