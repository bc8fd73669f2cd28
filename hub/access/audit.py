"""The append-only audit trail: who read or changed what, when, and through which grant.

Each row carries an HMAC-SHA256 of its own content and of the row before it, under an
audit key that never enters the database (:meth:`hub.crypto.Keyring.audit_ring`: one per
encryption key id, rotated with them; each row names the key that sealed it). An edited
or deleted row breaks the chain at that point, and someone with the database alone cannot
seal a rewritten one. The newest hash is also kept in a one-row head table: appends lock
it (no forks under concurrency) and :func:`verify` compares it. What the database alone
cannot show - its newest rows deleted and the head rolled back, or the chain replaced -
the anchors show: after every commit the head is written to an append-only file outside
the database (:mod:`hub.access.anchors`), and the admin keeps ``clienthub audit head``.
Database triggers refuse UPDATE and DELETE on the trail; the chain is what still catches
someone who drops them.

Rows written before the chain was keyed keep their plain SHA-256 and are never resealed
(that would rewrite history and every head kept of it); :func:`verify` reports them as
unkeyed. The first keyed row's seal covers the hash of the last unkeyed one, so from that
row's time on they cannot be changed undetected either.

A change is recorded in the transaction that makes it; a read in one of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, event, func, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from hub.access import anchors
from hub.access.anchors import Anchor
from hub.access.models import AuditEntry, AuditHead
from hub.crypto import Keyring
from hub.db import begin_writing, has_written, utcnow
from hub.settings import Settings, get_settings

if TYPE_CHECKING:
    from hub.access.policy import Principal

GENESIS = "0" * 64

#: How the trail names a change made on the server's command line, which acts as an
#: admin does without being a user: the row's actor is NULL and its detail says this.
COMMAND_LINE = "command line"


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


def _audit_ring(settings: Settings) -> Keyring:
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
    """Has the session written (or appended: it holds the head's row lock until it
    commits)? Then a read's row joins its transaction rather than committing it early."""
    return session.in_transaction() and (has_written(session)
                                         or bool(session.info.get(_APPENDED)))


_APPENDED = "clienthub.audit_appended"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_append(session: Session) -> None:
    session.info.pop(_APPENDED, None)


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
    # Core statements in the session's transaction: an append is a few statements on
    # every audited read, and the unit of work's flush cost more than all of them.
    new_id, prev_hash, trail = session.execute(_TAKE_HEAD).one()
    at = utcnow()
    settings = get_settings()
    ring = _audit_ring(settings)
    trail = trail or secrets.token_hex(8)
    digest = _digest(
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
    session.info[_APPENDED] = True
    session.info[_ANCHOR] = (_anchor_path(settings), Anchor(trail, new_id, digest))


_ANCHOR = "clienthub.audit_anchor"


@event.listens_for(Session, "after_commit")
def _write_anchor(session: Session) -> None:
    """The session's newest row has committed: anchor it outside the database."""
    pending = session.info.pop(_ANCHOR, None)
    if pending is not None:
        anchors.write(*pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_anchor(session: Session, previous_transaction: SessionTransaction) -> None:
    # Any rollback, a savepoint's too, may have taken the pending row with it; an anchor
    # naming a row that never committed would be a false alarm, a missing one is not.
    session.info.pop(_ANCHOR, None)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    entry_id: int
    problem: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`verify` found. ``breaks`` are evidence of tampering; ``warnings`` say
    what could not be checked (rows of a key not configured, unkeyed rows, no anchors)."""

    rows: int
    breaks: list[ChainBreak]
    #: Rows written before the chain was keyed (plain SHA-256).
    unkeyed: int = 0
    #: Rows per key id that is not configured, whose seals could not be checked.
    unchecked: dict[str, int] = field(default_factory=dict)
    #: Anchors (the file's and the kept heads) the trail was checked against.
    anchors: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


#: Beyond this many, problems are counted, not listed: a rewrite breaks every later row.
MAX_BREAKS = 100


class _Breaks:
    def __init__(self) -> None:
        self.items: list[ChainBreak] = []
        self.more = 0

    def add(self, entry_id: int, problem: str) -> None:
        if len(self.items) < MAX_BREAKS:
            self.items.append(ChainBreak(entry_id, problem))
        else:
            self.more += 1

    def listed(self) -> list[ChainBreak]:
        if not self.more:
            return self.items
        return [*self.items, ChainBreak(0, f"and {self.more} more problems like these")]


def _rows(session: Session) -> Iterator[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    yield from session.scalars(stmt)


def size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def head(session: Session) -> Anchor:
    """The newest row's id and hash (and the trail's name), for the admin to keep."""
    row = session.execute(select(AuditHead.trail, AuditHead.last_entry_id, AuditHead.last_hash)
                          .where(AuditHead.id == 1)).one()
    return Anchor(row.trail or "", row.last_entry_id, row.last_hash)


def verify(
    session: Session,
    progress: Callable[[int], None] | None = None,
    *,
    ring: Keyring | None = None,
    anchor_path: Path | None = None,
    heads: Sequence[Anchor] = (),
) -> Verdict:
    """Walk the whole trail; check every seal against the audit keys, and the trail
    against the anchor file and the ``heads`` the admin kept. Memory stays flat.

    ``ring`` and ``anchor_path`` default to the configured ones. ``progress`` is called
    with the number of rows checked so far, every 1,000 rows."""
    settings = get_settings()
    ring = ring or _audit_ring(settings)
    anchor_path = anchor_path or settings.resolved_audit_anchor_path
    trail = session.scalar(select(AuditHead.trail).where(AuditHead.id == 1))
    breaks = _Breaks()
    prev_hash, prev_id, count = GENESIS, 0, 0
    first_keyed: int | None = None
    first_unkeyed: int | None = None
    unkeyed = 0
    unchecked: Counter[str] = Counter()
    for row in _rows(session):
        count += 1
        if row.id != prev_id + 1:
            breaks.add(row.id, f"rows {prev_id + 1}..{row.id - 1} are missing")
        if row.prev_hash != prev_hash:
            breaks.add(row.id, "does not chain to the row before it")
        key = ring.keys.get(row.key_id) if row.key_id is not None else None
        if row.key_id is None:
            if first_keyed is not None:
                breaks.add(row.id, f"has no seal although row {first_keyed} before it has: "
                                   "it was written or rewritten without the audit key")
            unkeyed += 1
            first_unkeyed = first_unkeyed or row.id
        else:
            if trail is None:  # the first keyed append may have named it since
                with Session(bind=session.get_bind()) as fresh:
                    trail = fresh.scalar(select(AuditHead.trail).where(AuditHead.id == 1))
            first_keyed = first_keyed or row.id
            if key is None:
                unchecked[row.key_id] += 1
        if row.key_id is None or key is not None:
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
                key=key,
                key_id=row.key_id,
                trail=trail,
            )
            if not hmac.compare_digest(expected, row.hash):
                breaks.add(row.id, "content was changed after it was written")
        prev_hash, prev_id = row.hash, row.id
        if progress is not None and count % 1000 == 0:
            progress(count)
    stored = session.execute(select(AuditHead.last_entry_id, AuditHead.last_hash)
                             .where(AuditHead.id == 1)).one_or_none()
    if stored is None:
        breaks.add(0, "the audit head row is missing")
    elif (stored.last_entry_id, stored.last_hash) != (prev_id, prev_hash) and not (
            stored.last_entry_id > prev_id and not _missing_now(
                session, [Anchor(trail or "", stored.last_entry_id, stored.last_hash)])):
        breaks.add(
            stored.last_entry_id,
            f"the newest rows after {prev_id} were removed (head names {stored.last_entry_id})",
        )
    warnings = _key_warnings(first_unkeyed, prev_id, first_keyed, unchecked)
    found = _check_anchors(session, breaks, warnings, anchor_path, trail, heads, prev_id,
                           expect=count > 0)
    return Verdict(count, breaks.listed(), unkeyed=unkeyed,
                   unchecked=dict(unchecked), anchors=found, warnings=warnings)


def _key_warnings(first_unkeyed: int | None, last_id: int, first_keyed: int | None,
                  unchecked: Counter[str]) -> list[str]:
    warnings = []
    if first_unkeyed is not None and first_keyed is not None and first_unkeyed < first_keyed:
        warnings.append(
            f"rows {first_unkeyed}..{first_keyed - 1} are unkeyed (written before the chain was "
            f"keyed): row {first_keyed}'s seal covers them from its time on, but a change "
            "made to them before then could not be detected")
    elif first_unkeyed is not None and first_keyed is None:
        warnings.append(
            f"rows {first_unkeyed}..{last_id} are unkeyed (written before the chain was "
            "keyed) and no keyed row follows them yet: anyone with the database could "
            "rewrite them undetected; 'clienthub audit seal' (or any audited action) seals "
            "them")
    for kid, n in sorted(unchecked.items()):
        where = ("it is derived from CLIENTHUB_SECRET_KEY, which has changed; set the old "
                 "secret key to check them" if kid == "k0" else
                 "it is not configured; add the key back to CLIENTHUB_ENCRYPTION_KEYS")
        warnings.append(f"cannot check the {n} rows sealed with key {kid!r}: {where}")
    return warnings


def _check_anchors(session: Session, breaks: _Breaks, warnings: list[str], path: Path,
                   trail: str | None, heads: Sequence[Anchor], last_id: int,
                   expect: bool) -> int:
    """Compare the rows that the anchor file (its lines of this trail) and the kept
    ``heads`` name with the trail; returns how many anchors were compared."""
    others: set[str] = set()
    unreadable: list[int] = []

    def of_this_trail() -> Iterator[Anchor]:
        for item in anchors.read(path):
            if isinstance(item, int):
                unreadable.append(item)
            elif item.trail == trail:
                yield item
            else:
                others.add(item.trail)

    exists = path.is_file()
    if not exists and expect:
        warnings.append(f"there is no anchor file at {path}: removed newest rows cannot be "
                        "caught; check CLIENTHUB_AUDIT_ANCHOR_PATH (it must name the file "
                        "this installation writes) and compare with the heads you kept")
    checked = changed = 0
    first_changed: Anchor | None = None
    beyond: list[Anchor] = []
    pending = _chain(heads, of_this_trail() if exists else ())
    while batch := list(islice(pending, 1000)):
        checked += len(batch)
        beyond += [a for a in batch if a.entry_id > last_id]
        for anchor, stored in _stored(session, [a for a in batch if a.entry_id <= last_id]):
            if stored is not None and stored != anchor.hash:
                changed += 1
                if first_changed is None or anchor.entry_id < first_changed.entry_id:
                    first_changed = anchor
    if first_changed is not None:
        also = f"; {changed - 1} later anchors differ too" if changed > 1 else ""
        breaks.add(first_changed.entry_id,
                   f"differs from {_source(first_changed)}: the trail was rewritten from "
                   f"here on{also}")
    gone = _missing_now(session, beyond)
    if gone:
        newest = max(gone, key=lambda a: a.entry_id)
        removed = (f"row {newest.entry_id} was" if newest.entry_id == last_id + 1 else
                   f"rows {last_id + 1}..{newest.entry_id} were")
        breaks.add(newest.entry_id,
                   f"{_source(newest)} names row {newest.entry_id}, but the trail ends at "
                   f"{last_id}: {removed} removed (or the database was restored from an "
                   "older backup)")
    if unreadable:
        warnings.append(f"{len(unreadable)} lines of {path} are not anchors (first: line "
                        f"{unreadable[0]}); a last line cut off by a crash is harmless, any "
                        "other was edited")
    if others and checked == len(heads):
        breaks.add(0, f"the anchor file {path} names rows of another audit trail and none "
                      "of this one: this database's trail was replaced, or the file belongs "
                      "to another installation (give each its own "
                      "CLIENTHUB_AUDIT_ANCHOR_PATH)")
    elif exists and expect and checked == len(heads):
        warnings.append(f"{path} names no row of this trail: removed newest rows cannot be "
                        "caught; compare with the heads you kept")
    return checked


def _missing_now(session: Session, beyond: list[Anchor]) -> list[Anchor]:
    """Of anchors naming rows past the walked trail, those whose rows are not there now,
    as named: a row may have committed after the walk began (PostgreSQL reads each
    statement afresh), so it is looked for again in a transaction of its own."""
    if not beyond:
        return []
    with Session(bind=session.get_bind()) as fresh:
        return [a for a, stored in _stored(fresh, beyond) if stored != a.hash]


def _stored(session: Session, named: list[Anchor]) -> Iterator[tuple[Anchor, str | None]]:
    """Each anchor with the hash its row has now (None: no such row)."""
    for start in range(0, len(named), 1000):
        part = named[start:start + 1000]
        rows = session.execute(select(AuditEntry.id, AuditEntry.hash)
                               .where(AuditEntry.id.in_({a.entry_id for a in part})))
        hashes = {entry_id: digest for entry_id, digest in rows}
        for anchor in part:
            yield anchor, hashes.get(anchor.entry_id)


def _chain(first: Iterable[Anchor], then: Iterable[Anchor]) -> Iterator[Anchor]:
    yield from first
    yield from then


def _source(anchor: Anchor) -> str:
    if not anchor.trail:
        return "the head you kept"
    return f"the anchor written {anchor.written or 'at an unknown time'}"
