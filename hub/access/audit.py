"""The append-only audit trail: who read or changed what, when, and through which grant.

Each row carries the SHA-256 of its own content and of the row before it, so an edited
or deleted row breaks the chain at that point. The newest hash is also kept in a one-row
head table: appends lock it (no forks under concurrency) and :func:`verify` compares it,
so that removing the newest rows is detected as well. Database triggers refuse UPDATE
and DELETE on the trail; the chain is what still catches someone who drops them.

A change is recorded in the transaction that makes it; a read in one of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from hub.access.models import AuditEntry, AuditHead
from hub.db import utcnow

GENESIS = "0" * 64


def _digest(
    *,
    entry_id: int,
    prev_hash: str,
    at: datetime,
    actor_user_id: int | None,
    action: str,
    client_id: int | None,
    entry: int | None,
    grant: str,
    detail: dict[str, Any],
) -> str:
    canonical = json.dumps(
        {
            "id": entry_id,
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor_user_id,
            "action": action,
            "client": client_id,
            "entry": entry,
            "grant": grant,
            "detail": detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor_user_id: int | None,
    action: str,
    client_id: int | None = None,
    entry_id: int | None = None,
    grant: str = "",
    detail: dict[str, Any] | None = None,
    own_transaction: bool = False,
) -> AuditEntry:
    """Append one row.

    Changes are recorded in the caller's transaction (``own_transaction=False``), so the
    change and its record commit or fail together. Reads are recorded in a transaction of
    their own, committed at once, so that a read is on record even if the request that
    made it fails afterwards.
    """
    fields = {
        "actor_user_id": actor_user_id,
        "action": action,
        "client_id": client_id,
        "entry_id": entry_id,
        "grant": grant,
        "detail": dict(detail or {}),
    }
    if not own_transaction or _holds_audit_head(session):
        return _append(session, **fields)
    with Session(bind=session.get_bind()) as own:
        row = _append(own, **fields)
        own.commit()
        return row


def _holds_audit_head(session: Session) -> bool:
    """Would a second connection wait on this session forever? Yes when the session has
    already appended (it holds the head's row lock until it commits), and on SQLite
    whenever it has written at all (one writer per database). Then the row goes into the
    caller's own transaction instead."""
    if not session.in_transaction():
        return False
    if session.info.get(_APPENDED):
        return True
    if session.get_bind().dialect.name != "sqlite":
        return False
    dbapi = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


_APPENDED = "clienthub.audit_appended"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_append(session: Session) -> None:
    session.info.pop(_APPENDED, None)


def _append(session: Session, **fields: Any) -> AuditEntry:
    # Write first: this takes the head's row lock (PostgreSQL) or the write lock (SQLite)
    # before the head is read, so two writers cannot chain to the same row.
    session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_entry_id=AuditHead.last_entry_id)
    )
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    new_id = head.last_entry_id + 1
    at = utcnow()
    digest = _digest(
        entry_id=new_id,
        prev_hash=head.last_hash,
        at=at,
        actor_user_id=fields["actor_user_id"],
        action=fields["action"],
        client_id=fields["client_id"],
        entry=fields["entry_id"],
        grant=fields["grant"],
        detail=fields["detail"],
    )
    row = AuditEntry(id=new_id, at=at, prev_hash=head.last_hash, hash=digest, **fields)
    session.add(row)
    head.last_entry_id = new_id
    head.last_hash = digest
    session.flush()
    session.info[_APPENDED] = True
    return row


@dataclass(frozen=True, slots=True)
class ChainBreak:
    entry_id: int
    problem: str


def _rows(session: Session) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    yield from session.scalars(stmt)


def size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def verify(
    session: Session, progress: Callable[[int], None] | None = None
) -> tuple[int, list[ChainBreak]]:
    """Walk the whole trail; returns (rows checked, breaks found). Memory stays flat.

    ``progress`` is called with the number of rows checked so far, every 1,000 rows."""
    breaks: list[ChainBreak] = []
    prev_hash, prev_id, count = GENESIS, 0, 0
    for row in _rows(session):
        count += 1
        if row.id != prev_id + 1:
            breaks.append(ChainBreak(row.id, f"rows {prev_id + 1}..{row.id - 1} are missing"))
        if row.prev_hash != prev_hash:
            breaks.append(ChainBreak(row.id, "does not chain to the row before it"))
        expected = _digest(
            entry_id=row.id,
            prev_hash=row.prev_hash,
            at=row.at,
            actor_user_id=row.actor_user_id,
            action=row.action,
            client_id=row.client_id,
            entry=row.entry_id,
            grant=row.grant,
            detail=row.detail,
        )
        if expected != row.hash:
            breaks.append(ChainBreak(row.id, "content was changed after it was written"))
        prev_hash, prev_id = row.hash, row.id
        if progress is not None and count % 1000 == 0:
            progress(count)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None:
        breaks.append(ChainBreak(0, "the audit head row is missing"))
    elif head.last_entry_id != prev_id or head.last_hash != prev_hash:
        breaks.append(
            ChainBreak(
                head.last_entry_id,
                f"the newest rows after {prev_id} were removed (head names {head.last_entry_id})",
            )
        )
    return count, breaks
