"""Mail waiting for its owner on My work: external messages in their own mailboxes that
matched no client, newest first, each with the thread it opens in.

The same messages as the review queue (:func:`hub.mail.service.review_queue`, automated
mail left out); only the owner's own mailboxes are read, so no client's data is, and
nothing is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.mail.models import MailCopy, MailMessage, MessageClientLink


@dataclass(frozen=True, slots=True)
class WaitingMessage:
    message_id: int
    thread_id: int
    sent_at: datetime
    subject: str
    sender_name: str
    sender_address: str
    snippet: str


@dataclass(frozen=True, slots=True)
class WaitingMail:
    """The newest ``messages`` and how many wait in all."""

    messages: list[WaitingMessage]
    total: int


def _unmatched(principal: Principal) -> list[ColumnElement[bool]]:
    mine = select(MailCopy.message_id).join(Account, Account.id == MailCopy.account_id).where(
        Account.owner_user_id == principal.user_id, MailCopy.deleted_at.is_(None))
    linked = exists().where(MessageClientLink.message_id == MailMessage.id,
                            MessageClientLink.removed.is_(False))
    return [MailMessage.id.in_(mine), ~linked, MailMessage.internal_only.is_(False),
            MailMessage.auto_submitted.is_(False)]


def unmatched_mail(session: Session, principal: Principal, *, limit: int = 10) -> WaitingMail:
    """External mail in the principal's own mailboxes that no client is linked to yet."""
    if not principal.is_active:
        return WaitingMail([], 0)
    where = _unmatched(principal)
    rows = session.execute(
        select(MailMessage.id, MailMessage.thread_id, MailMessage.sent_at, MailMessage.subject,
               MailMessage.sender_name, MailMessage.sender_address, MailMessage.snippet)
        .where(*where).order_by(MailMessage.sent_at.desc(), MailMessage.id.desc())
        .limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(MailMessage).where(*where)) or 0
    return WaitingMail([WaitingMessage(*row) for row in rows], total)
