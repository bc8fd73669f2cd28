"""The sink that keeps the drive index: the files and folders of drive accounts as the
local-folder and WebDAV connectors report them, filed under clients.

Kinds ``file`` and ``folder`` are upserted into :class:`DriveItem` by path; a ``deleted``
item reaches :meth:`DriveSink.gone`. A ``listing`` marker (WebDAV) names every child of a
folder as it is now; whatever the index holds under that folder by another name is gone,
and so is everything below a folder gone that way - the drive item and its source record
both, as the runner marks them for explicit deletes.

:meth:`DriveSink.apply_many` does a batch set-based: one SELECT for the rows the batch's
records already point at, one bulk INSERT for the new ones and one bulk UPDATE for the
changed ones (SQLAlchemy Core, no ORM objects per file). :meth:`DriveSink.apply` is the
same code on a batch of one, so the careful path and the fast path cannot disagree. What
the changes mean for the timeline is decided when the transaction commits
(:mod:`hub.drive.activity`, :mod:`hub.drive.entries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

import hub.drive.entries  # noqa: F401 - registers the commit hook that writes the timeline
from hub.accounts.models import Account
from hub.db import utcnow
from hub.drive.activity import Activity, buffer
from hub.drive.models import DriveItem
from hub.drive.roots import RootMap, root_map
from hub.drive.rows import change_of, differs, is_entry, row_of
from hub.sync.models import SourceRecord
from hub.sync.protocol import Item
from hub.sync.records import Record

KINDS = ("file", "folder", "listing")
_CHUNK = 500
_ITEMS = cast(Table, DriveItem.__table__)
_RECORDS = cast(Table, SourceRecord.__table__)
#: A row of :data:`_GONE_COLUMNS`.
GoneRow = Row[*tuple[Any, ...]]
_INSERT = insert(_ITEMS).returning(_ITEMS.c.id, _ITEMS.c.path)
# Executed with many parameter sets: the SET clause is every key but ``b_id``.
_UPDATE = update(_ITEMS).where(_ITEMS.c.id == bindparam("b_id"))
#: What a removal needs to know of a row.
_GONE_COLUMNS = (_ITEMS.c.id, _ITEMS.c.path, _ITEMS.c.parent, _ITEMS.c.name,
                 _ITEMS.c.is_folder, _ITEMS.c.size, _ITEMS.c.modified, _ITEMS.c.stable_id,
                 _ITEMS.c.client_id, _ITEMS.c.source_record_id)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


class DriveSink:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock

    def apply(self, session: Session, account: Account, record: Record,
              item: Item) -> bool:
        return self.apply_many(session, account, [(record, item)]) == 0

    def apply_many(self, session: Session, account: Account,
                   pairs: list[tuple[Record, Item]]) -> int:
        """Apply live items; returns how many were kept raw because they made no sense."""
        entries: list[tuple[Record, Item]] = []
        listings: dict[str, set[str]] = {}
        unparsed = 0
        for record, item in pairs:
            folder = item.data.get("folder") if isinstance(item.data, Mapping) else None
            children = item.data.get("children") if isinstance(item.data, Mapping) else None
            if item.kind == "listing" and isinstance(folder, str) and isinstance(
                    children, list):
                listings[folder] = {str(c) for c in children}
            elif is_entry(item):
                entries.append((record, item))
            else:
                unparsed += 1
                record.data = {"error": f"not a drive entry: kind {item.kind!r}, id "
                                        f"{item.external_id[:200]!r}"}
        if entries:
            self._upsert(session, account, entries)
        if listings:
            self._sweep(session, account, listings)
        return unparsed

    def gone(self, session: Session, account: Account, record: Record) -> None:
        if record.kind not in ("file", "folder"):
            return  # a listing marker is no entry of the index
        where = (_ITEMS.c.id == record.target_id if record.target_id is not None
                 else _ITEMS.c.path == record.external_id)
        row = session.execute(select(*_GONE_COLUMNS).where(
            where, _ITEMS.c.account_id == account.id, _ITEMS.c.deleted_at.is_(None))).first()
        if row is not None:
            self._remove(session, account, [row])

    # -- upsert ------------------------------------------------------------------------

    def _upsert(self, session: Session, account: Account,
                pairs: list[tuple[Record, Item]]) -> None:
        now = buffer(session, self.clock).now
        roots = root_map(session, account)
        latest = {item.external_id: (record, row_of(item)) for record, item in pairs}
        known = sorted({r.target_id for r, _ in latest.values() if r.target_id is not None})
        # A record that never became a row has none: first syncs need no SELECT at all.
        before: dict[int, Any] = {}
        for chunk in _chunks(known):
            before.update((r.id, r._mapping) for r in session.execute(select(_ITEMS).where(
                _ITEMS.c.id.in_(chunk), _ITEMS.c.account_id == account.id)))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        activities: list[Activity] = []
        for path, (record, row) in latest.items():
            client_id, root = roots.client_for(session, path)
            old = before.get(record.target_id) if record.target_id is not None else None
            if old is not None and old["path"] != path:
                old = None
            values = {**row, "client_id": client_id, "source_record_id": record.id,
                      "deleted_at": None}
            if old is None:
                inserts.append({**values, "account_id": account.id, "path": path,
                                "created_at": now})
            elif differs(old, row) or old["client_id"] != client_id:
                updates.append({**values, "b_id": old["id"]})
            change = change_of(old, row)
            if change is not None:
                activities.append(Activity(
                    account.id, client_id, root, row["parent"], change, row["name"], path,
                    row["stable_id"], row["size"], row["modified"]))
        if inserts:
            ids = {path: item_id for item_id, path in session.execute(_INSERT, inserts)}
            for path, (record, _) in latest.items():
                if path in ids:
                    record.target_id = ids[path]
        if updates:
            session.execute(_UPDATE, updates)
        buffer(session, self.clock).activities.extend(activities)

    # -- removal -----------------------------------------------------------------------

    def _sweep(self, session: Session, account: Account, listings: dict[str, set[str]]) -> None:
        """The listing-marker contract: a child the listing does not name is gone."""
        stale: list[GoneRow] = []
        for chunk in _chunks(sorted(listings)):
            for row in session.execute(select(*_GONE_COLUMNS).where(
                    _ITEMS.c.account_id == account.id, _ITEMS.c.deleted_at.is_(None),
                    _ITEMS.c.parent.in_(chunk))):
                name = row.name + ("/" if row.is_folder else "")
                if name not in listings[row.parent]:
                    stale.append(row)
        if stale:
            self._remove(session, account, stale)

    def _remove(self, session: Session, account: Account, rows: list[GoneRow]) -> None:
        now = buffer(session, self.clock).now
        # Each removed row with the folder its removal is filed under: a removed folder
        # files its whole subtree under itself, the shallowest removed folder winning.
        removed: dict[int, tuple[GoneRow, str]] = {}
        for row in sorted(rows, key=lambda r: len(r.path)):
            if row.id in removed:
                continue  # below a removed folder whose subtree query already took it all
            top = row.path if row.is_folder else row.parent
            removed[row.id] = (row, top)
            if not row.is_folder:
                continue
            for below in session.execute(select(*_GONE_COLUMNS).where(
                    _ITEMS.c.account_id == account.id, _ITEMS.c.deleted_at.is_(None),
                    _ITEMS.c.path.startswith(row.path, autoescape=True),
                    _ITEMS.c.id != row.id)):
                removed.setdefault(below.id, (below, top))
        ids = sorted(removed)
        for chunk in _chunks(ids):
            session.execute(update(_ITEMS).where(_ITEMS.c.id.in_(chunk))
                            .values(deleted_at=now))
        records = sorted(r.source_record_id for r, _ in removed.values())
        for chunk in _chunks(records):
            session.execute(update(_RECORDS).where(
                _RECORDS.c.id.in_(chunk), _RECORDS.c.deleted_at.is_(None))
                .values(deleted_at=now))
        roots = root_map(session, account)
        buffer(session, self.clock).activities.extend(
            _removal(account.id, row, folder, roots) for row, folder in removed.values()
            if not row.is_folder and row.client_id is not None)


def _removal(account_id: int, row: GoneRow, folder: str, roots: RootMap) -> Activity:
    return Activity(account_id, row.client_id, roots.root_of(row.path), folder, "removed",
                    row.name, row.path, row.stable_id, row.size, row.modified)


__all__ = ["KINDS", "DriveSink"]
