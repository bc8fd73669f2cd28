"""Keeping and finding the answers to requests sent with an ``Idempotency-Key``.

A client that sends a POST and loses the answer (a timeout, a dropped connection) cannot
know whether the change was made. Sent again with the same key, the request gets the
first answer back and changes nothing; the same key with another request is refused.
Keys are per user and kept for :data:`KEPT_FOR`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.errors import InvalidInput
from hub.idempotency.models import RequestKey

KEPT_FOR = timedelta(hours=24)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: bytes


def check_key(key: str) -> str:
    """The key as sent, when it is one: 1-200 visible ASCII characters (a UUID is best)."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidInput(
            f"the {HEADER} header must be 1-{MAX_KEY_LENGTH} visible ASCII characters; send "
            "a new random value (a UUID) for each new request",
            field=HEADER,
        )
    return key


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and query, and body."""
    digest = hashlib.sha256(f"{method.upper()} {target}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def find(session: Session, user_id: int, key: str, print_: str,
         now: datetime) -> StoredAnswer | None:
    """The stored answer to this request, if it was made before under ``key``; an
    :class:`InvalidInput` on the header if the key was used for another request."""
    row = session.scalar(select(RequestKey).where(RequestKey.user_id == user_id,
                                                  RequestKey.key == key,
                                                  RequestKey.expires_at > now))
    if row is None:
        return None
    if row.fingerprint != print_:
        raise InvalidInput(
            f"this {HEADER} was already used for a different request; send a new key with "
            "a new request (the same key only to retry the same request)",
            field=HEADER,
        )
    return StoredAnswer(row.status, row.body.encode())


def remember(session: Session, user_id: int, key: str, print_: str, answer: StoredAnswer,
             now: datetime) -> None:
    """Store ``answer`` under ``key``, in the session's transaction (the change's own)."""
    # The user's expired keys go here, a few at a time: no sweeper to schedule.
    session.execute(delete(RequestKey).where(RequestKey.user_id == user_id,
                                             RequestKey.expires_at <= now))
    session.add(RequestKey(user_id=user_id, key=key, fingerprint=print_, status=answer.status,
                           body=answer.body.decode(), created_at=now,
                           expires_at=now + KEPT_FOR))
    session.flush()
