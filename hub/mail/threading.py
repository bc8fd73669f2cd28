"""Putting a message in its thread.

First by Message-ID, In-Reply-To and References, through a table of every id a thread
holds or mentions (so a reply that arrives before its parent, or through another
colleague's mailbox, still joins); two threads that a message turns out to bridge are
merged. A reply that names no parent at all: the same cleaned subject and at least two
shared participants within 60 days (after Nylas), so a client's reply from a phone that
drops References still lands in place. A reply that names a parent the hub has not seen
is not guessed into a thread by its subject (as in JWZ's algorithm): its parent's id is
recorded with it, so the parent and its siblings join it when they come, while "Re:
Lasku" about two different invoices stays two conversations.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.mail.models import MailMessage, MailParticipant, MailThread, MailThreadKey

_PREFIX = re.compile(r"^\s*((re|fwd?|vs|vl|sv|aw|wg|antw|tr|rif)\s*(\[\d+\])?\s*:\s*)+",
                     re.IGNORECASE)
FALLBACK_WINDOW = timedelta(days=60)


def subject_key(subject: str) -> str:
    """"VS: Re: ALV-ilmoitus  lokakuu" -> "alv-ilmoitus lokakuu"."""
    cleaned = subject
    while True:
        stripped = _PREFIX.sub("", cleaned)
        if stripped == cleaned:
            break
        cleaned = stripped
    return " ".join(cleaned.split()).casefold()[:300]


def needs_subject_fallback(subject: str, references: list[str]) -> bool:
    """Only a reply or forward by its subject that names no parent looks for a
    conversation to join by subject; a fresh subject starts one (and spares the query on
    every new message)."""
    return not references and _PREFIX.match(subject) is not None


def find_or_create_thread(
    session: Session, *, keys: list[str], subject: str, participants: set[str],
    sent_at: datetime,
) -> MailThread:
    found = sorted(set(session.scalars(
        select(MailThreadKey.thread_id).where(MailThreadKey.key.in_(keys)))))
    thread: MailThread | None = None
    if found:
        thread = session.get(MailThread, found[0])
        for other in found[1:]:
            merge_threads(session, into=found[0], other=other)
    elif needs_subject_fallback(subject, keys[1:]):
        thread = by_subject(session, subject_key(subject), participants, sent_at)
    if thread is None:
        thread = MailThread(subject_key=subject_key(subject), last_message_at=sent_at)
        session.add(thread)
        session.flush()
    assert thread is not None
    have = set(session.scalars(select(MailThreadKey.key).where(MailThreadKey.key.in_(keys))))
    for key in dict.fromkeys(keys):
        if key not in have:
            session.add(MailThreadKey(key=key, thread_id=thread.id))
    if thread.last_message_at is None or sent_at > thread.last_message_at:
        thread.last_message_at = sent_at
    session.flush()
    return thread


def by_subject(session: Session, key: str, participants: set[str],
                sent_at: datetime) -> MailThread | None:
    if not key or len(participants) < 2:
        return None
    shared = func.count(func.distinct(MailParticipant.address))
    stmt = (
        select(MailMessage.thread_id)
        .join(MailParticipant, MailParticipant.message_id == MailMessage.id)
        .join(MailThread, MailThread.id == MailMessage.thread_id)
        .where(MailThread.subject_key == key,
               MailParticipant.address.in_(participants),
               MailMessage.sent_at >= sent_at - FALLBACK_WINDOW,
               MailMessage.sent_at <= sent_at + FALLBACK_WINDOW)
        .group_by(MailMessage.thread_id)
        .having(shared >= 2)
        .order_by(MailMessage.thread_id)
        .limit(1)
    )
    thread_id = session.scalar(stmt)
    return session.get(MailThread, thread_id) if thread_id is not None else None


def merge_threads(session: Session, *, into: int, other: int) -> None:
    session.execute(update(MailMessage).where(MailMessage.thread_id == other)
                    .values(thread_id=into))
    session.execute(update(MailThreadKey).where(MailThreadKey.thread_id == other)
                    .values(thread_id=into))
    gone = session.get(MailThread, other)
    kept = session.get(MailThread, into)
    if gone is not None and kept is not None:
        # A private mark survives a merge: privacy is never lost by threading.
        if gone.is_private and not kept.is_private:
            kept.is_private, kept.private_by = True, gone.private_by
            kept.private_to = list(gone.private_to)
        session.delete(gone)
    session.flush()
