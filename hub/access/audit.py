"""The append-only audit trail: who read or changed what, when, and through which grant.

Each row carries an HMAC-SHA256 of its own content and of the row before it, under an
audit key that never enters the database (:meth:`hub.crypto.Keyring.audit_ring`: one per
encryption key id, rotated with them; each row names the key that sealed it). An edited
or deleted row breaks the chain at that point, and someone with the database alone cannot
seal a rewritten one. The newest hash is also kept in a one-row head table: appends lock
it (no forks under concurrency) and verification compares it. What the database alone
cannot show - its newest rows deleted and the head rolled back, or the chain replaced -
the anchors show: after every commit the head is written to an append-only file outside
the database (:mod:`hub.access.anchors`), and the admin keeps ``clienthub audit head``.
Database triggers refuse UPDATE and DELETE on the trail; the chain is what still catches
someone who drops them.

Rows written before the chain was keyed keep their plain SHA-256 and are never resealed
(that would rewrite history and every head kept of it); verification reports them as
unkeyed. The first keyed row's seal covers the hash of the last unkeyed one, so from that
row's time on they cannot be changed undetected either.

A change is recorded in the transaction that makes it; a read in one of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from hub.access import anchors
from hub.access.anchors import Anchor
from hub.access.models import AuditEntry, AuditHead
from hub.crypto import Keyring
from hub.db import begin_writing, hub_session, utcnow
from hub.settings import Settings, get_settings

if TYPE_CHECKING:
    from hub.access.policy import Principal

GENESIS = "0" * 64

#: How the trail names a change made on the server's command line, which acts as an
#: admin does without being a user: the row's actor is NULL and its detail says this.
COMMAND_LINE = "command line"


def seal_of(
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
    key: bytes | None = None,
    key_id: str | None = None,
    trail: str | None = None,
) -> str:
    """The row's seal: HMAC-SHA256 under ``key``, over its content, the key's id and the
    trail's name; without a key, the plain SHA-256 of rows from before the chain was keyed."""
    content: dict[str, Any] = {
        "id": entry_id,
        "prev": prev_hash,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor_user_id,
        "action": action,
        "client": client_id,
        "entry": entry,
        "grant": grant,
        "detail": detail,
    }
    if key is None:
        return hashlib.sha256(_canonical(content)).hexdigest()
    content |= {"key": key_id, "trail": trail}
    return hmac.new(key, _canonical(content), hashlib.sha256).hexdigest()


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


_rings: dict[str, tuple[Settings, Keyring]] = {}


def audit_ring(settings: Settings) -> Keyring:
    """The audit keys of these settings, derived once (one HMAC per append, no HKDF)."""
    cached = _rings.get("current")
    if cached is None or cached[0] is not settings:
        cached = (settings, Keyring.from_settings(settings).audit_ring())
        _rings["current"] = cached
    return cached[1]


_anchor_paths: dict[tuple[Path | None, Path], Path] = {}


def _anchor_path(settings: Settings) -> Path:
    """The settings' anchor file, resolved once (resolving asks the file system)."""
    key = (settings.audit_anchor_path, settings.data_dir)
    path = _anchor_paths.get(key)
    if path is None:
        path = _anchor_paths[key] = settings.resolved_audit_anchor_path
    return path


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
) -> None:
    """Append one row.

    Changes are recorded in the caller's transaction (``own_transaction=False``), so the
    change and its record commit or fail together. Reads are recorded in a transaction of
    their own, committed at once, so that a read is on record even if the request that
    made it fails afterwards: the caller's session commits its reads so far and the row
    (on its one connection - a second beside it could wait on the first, and a request
    holds one). A session that has already written keeps the read with its change.
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
        _append(session, **fields)
        return
    begin_writing(session)
    _append(session, **fields)
    session.commit()


def record_by(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    client_id: int | None = None,
    detail: dict[str, Any] | None = None,
    own_transaction: bool = False,
) -> None:
    """Append the row of an action by ``principal``; ``None`` is the command line on the
    server, named as such (actor NULL, ``via: "command line"`` in the detail)."""
    detail = dict(detail or {})
    if principal is None:
        detail["via"] = COMMAND_LINE
    record(session, actor_user_id=principal.user_id if principal is not None else None,
           action=action, client_id=client_id, detail=detail, own_transaction=own_transaction)


def seal(session: Session) -> None:
    """Append a keyed row by the command line: it seals every row before it."""
    record_by(session, None, "audit.sealed")


def _holds_audit_head(session: Session) -> bool:
    """Has the session's open transaction written (an append is a write: it holds the
    head's row lock until it commits)? Then a read's row joins that transaction rather
    than committing it early."""
    return session.in_transaction() and hub_session(session).has_written()


_HEAD = cast(Table, AuditHead.__table__)
_ENTRIES = cast(Table, AuditEntry.__table__)
# Taking the head's row lock (PostgreSQL; SQLite's write lock) and reading it is one
# statement: two writers cannot chain to the same row.
_TAKE_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
              .values(last_entry_id=_HEAD.c.last_entry_id + 1)
              .returning(_HEAD.c.last_entry_id, _HEAD.c.last_hash, _HEAD.c.trail))
_SET_HEAD = (update(_HEAD).where(_HEAD.c.id == 1)
             .values(last_hash=bindparam("digest"), trail=bindparam("trail")))
_ADD_ENTRY = insert(_ENTRIES)


def _append(session: Session, **fields: Any) -> None:
    hub = hub_session(session)  # a plain Session could not anchor the row: refuse it first
    # Core statements in the session's transaction: an append is a few statements on
    # every audited read, and the unit of work's flush cost more than all of them.
    new_id, prev_hash, trail = session.execute(_TAKE_HEAD).one()
    at = utcnow()
    settings = get_settings()
    ring = audit_ring(settings)
    trail = trail or secrets.token_hex(8)
    digest = seal_of(
        entry_id=new_id,
        prev_hash=prev_hash,
        at=at,
        actor_user_id=fields["actor_user_id"],
        action=fields["action"],
        client_id=fields["client_id"],
        entry=fields["entry_id"],
        grant=fields["grant"],
        detail=fields["detail"],
        key=ring.keys[ring.current],
        key_id=ring.current,
        trail=trail,
    )
    row = {"id": new_id, "at": at, "prev_hash": prev_hash, "hash": digest,
           "key_id": ring.current, **fields}
    row["via"] = row.pop("grant")  # the column's name ("grant" is reserved in SQL)
    session.execute(_ADD_ENTRY, row)
    session.execute(_SET_HEAD, {"digest": digest, "trail": trail})
    # Only the newest row of a transaction is anchored, and only once it has committed:
    # an anchor naming a row that never committed would be a false alarm, a missing one is
    # not (the next commit's anchor covers it).
    hub.after_commit("audit anchor", partial(anchors.write, _anchor_path(settings),
                                             Anchor(trail, new_id, digest)))


def head(session: Session) -> Anchor:
    """The newest row's id and hash (and the trail's name), for the admin to keep."""
    row = session.execute(select(AuditHead.trail, AuditHead.last_entry_id, AuditHead.last_hash)
                          .where(AuditHead.id == 1)).one()
    return Anchor(row.trail or "", row.last_entry_id, row.last_hash)
