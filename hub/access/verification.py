"""Checking the audit trail: every seal against the audit keys, the chain row by row, and
the newest rows against the anchors kept outside the database (:mod:`hub.access.anchors`)
and the heads the admin kept. What :mod:`hub.access.audit` writes, this module reads back;
it is apart from it because it changes for other reasons (what counts as evidence, what
an admin is told) than the append on every request.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.access import anchors, audit
from hub.access.anchors import Anchor
from hub.access.models import AuditEntry, AuditHead
from hub.crypto import Keyring
from hub.settings import get_settings


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
    ring = ring or audit.audit_ring(settings)
    anchor_path = anchor_path or settings.resolved_audit_anchor_path
    trail = session.scalar(select(AuditHead.trail).where(AuditHead.id == 1))
    breaks = _Breaks()
    prev_hash, prev_id, count = audit.GENESIS, 0, 0
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
            expected = audit.seal_of(
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
