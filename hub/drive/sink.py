"""The sink that keeps the drive index: a drive's folders, each with its files, filed
under clients.

A ``listing`` item (:mod:`hub.drive.listing`) is the whole truth about one folder's
children: its files replace the stored ones, a subfolder it does not name is gone with
everything below it, and one it names for the first time gets a row of its own (whose
files its own listing brings). What differs from the stored folder is what happened -
files added, changed, removed - and is noted as activity for the timeline
(:mod:`hub.drive.activity`), which the sink writes to the timeline when the runner
settles the batch, just before it commits (:meth:`DriveSink.settle`,
:mod:`hub.drive.entries`). Single ``file``/``folder`` items,
from a source that reports changes one entry at a time, are folded into the stored
listing of the folder that holds them and go the same way.

A batch is read with a SELECT per 500 of its folders (each with its subfolders), decided
in memory (a folder made by its parent's listing earlier in the same batch is found
there), and written with one INSERT for the new rows and one executemany UPDATE for the
changed ones. :meth:`DriveSink.apply` is the same code on a batch of one, so the runner's
careful and fast paths write the same rows and the same activity.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.bulk_rows import insert_rows, reserve_ids
from hub.db import utcnow
from hub.drive.activity import Action, Activity, ActivityBuffer
from hub.drive.entries import RECENT_DAYS, SAMPLES, first_index, write_entries
from hub.drive.listing import (
    FileRow,
    Listing,
    SubFolder,
    apply_entries,
    as_datetime,
    changed,
    is_entry,
    listing_of,
    name_of,
    parent_of,
)
from hub.drive.models import DriveFolder
from hub.drive.roots import RootMap, root_map
from hub.sync.models import SourceRecord
from hub.sync.protocol import Item
from hub.sync.records import Record

KINDS = ("file", "folder", "listing")
MAX_PATH = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK = 500
_FOLDERS = cast(Table, DriveFolder.__table__)
_RECORDS = cast(Table, SourceRecord.__table__)
_COLUMNS = (_FOLDERS.c.id, _FOLDERS.c.path, _FOLDERS.c.parent, _FOLDERS.c.name,
            _FOLDERS.c.client_id, _FOLDERS.c.files, _FOLDERS.c.listed, _FOLDERS.c.modified,
            _FOLDERS.c.etag, _FOLDERS.c.stable_id, _FOLDERS.c.deleted_at)
#: What an UPDATE of a folder row writes.
_WRITTEN = ("client_id", "files", "file_count", "file_bytes", "listed", "modified", "etag",
            "stable_id", "deleted_at", "updated_at")
_UPDATE = update(_FOLDERS).where(_FOLDERS.c.id == bindparam("b_id")).values(
    {name: bindparam(f"v_{name}") for name in _WRITTEN})


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


@dataclass(slots=True, eq=False)
class _Folder:
    """A folder row as the batch sees it; written back when ``dirty``."""

    path: str
    id: int | None = None
    client_id: int | None = None
    files: list[FileRow] = field(default_factory=list)
    listed: bool = False
    modified: datetime | None = None
    etag: str | None = None
    stable_id: str | None = None
    deleted_at: datetime | None = None
    dirty: bool = False

    @property
    def live(self) -> bool:
        return self.deleted_at is None


class _Batch:
    """The folders one batch touches, by path, and each live folder's subfolders."""

    def __init__(self, session: Session, account: Account, found: ActivityBuffer) -> None:
        self.session = session
        self.account = account
        self.now = found.now
        #: The drive's first index is under way (no sync of it has finished).
        self.initial = first_index(session, found, account.id)
        self.folders: dict[str, _Folder] = {}
        self.children: dict[str, set[str]] = {}
        self.loaded_children: set[str] = set()
        self.gone_folders: list[str] = []

    def load(self, paths: Iterable[str]) -> None:
        """The rows at ``paths`` and below them one level, in one SELECT per 500."""
        wanted = sorted(set(paths) - self.loaded_children)
        for chunk in _chunks(wanted):
            for row in self.session.connection().execute(select(*_COLUMNS).where(
                    _FOLDERS.c.account_id == self.account.id,
                    (_FOLDERS.c.path.in_(chunk)) | (_FOLDERS.c.parent.in_(chunk)))):
                self._keep(row)
        self.loaded_children.update(wanted)

    def load_below(self, prefix: str) -> None:
        """Every live row under ``prefix`` (a subtree about to be removed)."""
        for row in self.session.connection().execute(select(*_COLUMNS).where(
                _FOLDERS.c.account_id == self.account.id, _FOLDERS.c.deleted_at.is_(None),
                _FOLDERS.c.path.startswith(prefix, autoescape=True))):
            self._keep(row)

    def _keep(self, row: Any) -> None:
        if row.path in self.folders:
            return  # the batch's own view of it is newer
        folder = _Folder(row.path, row.id, row.client_id, list(row.files or []), row.listed,
                         row.modified, row.etag, row.stable_id, row.deleted_at)
        self.folders[row.path] = folder
        if folder.live and row.path:
            self.children.setdefault(row.parent, set()).add(row.path)

    def get(self, path: str) -> _Folder:
        folder = self.folders.get(path)
        if folder is None:
            folder = self.folders[path] = _Folder(path, dirty=True)
        return folder

    def revive(self, folder: _Folder) -> None:
        if not folder.live:
            folder.deleted_at, folder.files, folder.listed = None, [], False
            folder.dirty = True
        if folder.path:
            self.children.setdefault(parent_of(folder.path), set()).add(folder.path)

    def remove(self, folder: _Folder) -> None:
        folder.deleted_at, folder.dirty = self.now, True
        self.children.get(parent_of(folder.path), set()).discard(folder.path)
        self.gone_folders.append(folder.path)


@dataclass(slots=True)
class _Pending:
    """What the sink keeps for the transaction a session is in, until it settles."""

    activity: ActivityBuffer
    #: Each account's roots, read once per transaction.
    roots: dict[int, RootMap] = field(default_factory=dict)


class DriveSink:
    """The runner calls :meth:`settle` just before a batch's transaction commits and
    :meth:`discard` when it rolls back; between the two the sink keeps the transaction's
    activity and roots (per session: one sink serves every session of a run)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._pending: weakref.WeakKeyDictionary[Session, _Pending] = (
            weakref.WeakKeyDictionary())

    def settle(self, session: Session) -> None:
        """Before the transaction commits: what it did to the drive reaches the client
        timelines, collapsed, in the same transaction."""
        pending = self._pending.pop(session, None)
        if pending is not None and pending.activity.activities:
            write_entries(session, pending.activity)

    def discard(self, session: Session) -> None:
        """The transaction rolled back: nothing it noted happened."""
        self._pending.pop(session, None)

    def _txn(self, session: Session) -> _Pending:
        pending = self._pending.get(session)
        if pending is None:
            pending = self._pending[session] = _Pending(ActivityBuffer(self.clock()))
        return pending

    def _roots(self, session: Session, account: Account) -> RootMap:
        roots = self._txn(session).roots
        found = roots.get(account.id)
        if found is None:
            found = roots[account.id] = root_map(session, account)
        return found

    @contextmanager
    def _undo_on_failure(self, session: Session) -> Iterator[None]:
        """An item that fails takes back what it noted: the runner rolls back the
        savepoint it wrote in, which may have decided a root (so they are read again), and
        its activity must not reach the timeline."""
        pending = self._txn(session)
        mark = len(pending.activity.activities)
        try:
            yield
        except BaseException:
            del pending.activity.activities[mark:]
            pending.roots.clear()
            raise

    def apply(self, session: Session, account: Account, record: Record, item: Item) -> bool:
        return self.apply_many(session, account, [(record, item)]) == 0

    def apply_many(self, session: Session, account: Account,
                   pairs: list[tuple[Record, Item]]) -> int:
        """Apply live items; returns how many were kept raw because they made no sense."""
        with self._undo_on_failure(session):
            return self._apply_many(session, account, pairs)

    def _apply_many(self, session: Session, account: Account,
                    pairs: list[tuple[Record, Item]]) -> int:
        listings: list[tuple[Record, Listing]] = []
        singles: dict[str, list[tuple[Record, Item]]] = {}
        unparsed = 0
        for record, item in pairs:
            listing = listing_of(item) if item.kind == "listing" else None
            if listing is not None:
                listings.append((record, listing))
            elif item.kind != "listing" and is_entry(item):
                singles.setdefault(parent_of(item.external_id), []).append((record, item))
            else:
                unparsed += 1
                record.data = {"error": f"not a drive listing or entry: kind {item.kind!r}, "
                                        f"id {item.external_id[:200]!r}"}
        batch = _Batch(session, account, self._txn(session).activity)
        if listings:
            self._write(batch, listings)
        if singles:
            batch.load(singles)
            self._write(batch, [(items[-1][0], apply_entries(
                self._stored_listing(batch, folder), (item for _, item in items)))
                for folder, items in singles.items()], loaded=True)
            for folder, items in singles.items():
                for record, _ in items:  # each entry's record points at its folder's row
                    record.target_id = batch.folders[folder].id
        return unparsed

    def gone(self, session: Session, account: Account, record: Record) -> None:
        """A listing record not seen again in a whole re-read: the folder is gone only if
        no live folder's listing names it any more - a folder that could not be read (a
        local folder's permissions) is not an empty one. A single entry: folded out of
        the folder that holds it, if that folder is still there."""
        with self._undo_on_failure(session):
            self._gone(session, account, record)

    def _gone(self, session: Session, account: Account, record: Record) -> None:
        batch = _Batch(session, account, self._txn(session).activity)
        if record.kind == "listing":
            path = record.external_id[1:]
            if not path:
                return  # the drive root is never gone; an unreadable root fails the sync
            batch.load([path, parent_of(path)])
            folder, parent = batch.folders.get(path), batch.folders.get(parent_of(path))
            if folder is None or not folder.live:
                return  # its parent's listing has removed it already
            if parent is not None and parent.live and parent.listed:
                return  # named by its parent's listing as it is now: there, unread
            notes: list[Activity] = []
            self._remove(batch, self._roots(session, account), folder, path, notes)
            self._flush(batch)
            self._txn(session).activity.activities.extend(notes)
            return
        if record.kind in ("file", "folder"):
            item = Item(record.stream, record.external_id, record.kind, record.occurred_at,
                        {}, deleted=True)
            holder = parent_of(record.external_id)
            batch.load([holder])
            found = batch.folders.get(holder)
            if found is None or not found.live:
                return  # its folder went first (a delta source names both)
            self._write(batch, [(record, apply_entries(self._stored_listing(batch, holder),
                                                       [item]))], loaded=True)

    # -- writing listings --------------------------------------------------------------

    @staticmethod
    def _stored_listing(batch: _Batch, path: str) -> Listing:
        folder = batch.folders.get(path)
        files = list(folder.files) if folder is not None and folder.live else []
        subs = []
        for sub in sorted(batch.children.get(path, ())):
            child = batch.folders[sub]
            mtime = _micros(child.modified) if child.modified is not None else None
            subs.append(SubFolder(name_of(sub), mtime, child.etag, child.stable_id))
        return Listing(path, files, subs)

    def _write(self, batch: _Batch, listings: list[tuple[Record, Listing]], *,
               loaded: bool = False) -> None:
        roots = self._roots(batch.session, batch.account)
        if not loaded:
            batch.load(listing.folder for _, listing in listings)
        activities: list[Activity] = []
        for _, listing in listings:
            folder = batch.get(listing.folder)
            batch.revive(folder)
            # The drive root is nobody's.
            client_id, root = (roots.client_for(batch.session, listing.folder)
                               if listing.folder else (None, None))
            before = {row.name: row for row in folder.files} if folder.listed else {}
            activities += self._file_changes(batch, folder, before, listing.files,
                                             client_id, root)
            if (folder.files != listing.files or not folder.listed
                    or folder.client_id != client_id):
                folder.files, folder.listed, folder.client_id = listing.files, True, client_id
                folder.dirty = True
            self._subfolders(batch, roots, folder, listing.folders, activities)
        self._flush(batch)  # new rows get their ids
        for record, listing in listings:
            record.target_id = batch.folders[listing.folder].id
        self._txn(batch.session).activity.activities.extend(activities)

    def _file_changes(self, batch: _Batch, folder: _Folder, before: dict[str, FileRow],
                      after: list[FileRow], client_id: int | None,
                      root: str | None) -> list[Activity]:
        if client_id is None:
            return []  # no client's folder: the review list shows it, no timeline does
        account_id = batch.account.id
        if not before and after and batch.initial:
            return self._first_seen(account_id, client_id, root, folder.path, after,
                                    batch.now)
        out: list[Activity] = []
        names = set()
        for row in after:
            name = row.name
            names.add(name)
            old = before.get(name)
            action: Action | None = "added" if old is None else (
                "changed" if changed(old, row) else None)
            if action is not None:
                out.append(self._activity(account_id, client_id, root, folder.path, action,
                                          row))
        for name, row in before.items():
            if name not in names:
                out.append(self._activity(account_id, client_id, root, folder.path, "removed",
                                          row))
        return out

    def _first_seen(self, account_id: int, client_id: int, root: str | None, folder: str,
                    rows: list[FileRow], now: datetime) -> list[Activity]:
        """A folder's files in a drive's first index: old news, counted as one activity
        (with a few names and their time range); only the recent ones one by one, as
        they are the work a colleague looks for (see hub.drive.entries)."""
        recent_from = _micros(now - timedelta(days=RECENT_DAYS))
        fresh = [r for r in rows if (r.mtime or 0) >= recent_from]
        old = [r for r in rows if (r.mtime or 0) < recent_from]
        out = [self._activity(account_id, client_id, root, folder, "added", row)
               for row in fresh]
        if old:
            times = [r.mtime for r in old if r.mtime is not None]
            out.append(Activity(account_id, client_id, root, folder, "added", old[0].name,
                                folder + old[0].name, count=len(old),
                                names=tuple(r.name for r in old[:SAMPLES]),
                                earliest=as_datetime(min(times)) if times else None,
                                modified=as_datetime(max(times)) if times else None))
        return out

    @staticmethod
    def _activity(account_id: int, client_id: int, root: str | None, folder: str,
                  action: Action, row: FileRow, filed_under: str | None = None) -> Activity:
        return Activity(account_id, client_id, root, filed_under or folder, action, row.name,
                        folder + row.name, row.stable_id, row.size, as_datetime(row.mtime))

    def _subfolders(self, batch: _Batch, roots: RootMap, folder: _Folder,
                    listed: list[SubFolder], activities: list[Activity]) -> None:
        # A path longer than the index keeps (500 characters) is left out, not allowed
        # to fail the whole listing of its parent.
        named = {folder.path + sub.name + "/": sub for sub in listed
                 if len(folder.path) + len(sub.name) < MAX_PATH}
        for path in sorted(batch.children.get(folder.path, set()) - named.keys()):
            self._remove(batch, roots, batch.folders[path], path, activities)
        for path, sub in named.items():
            child = batch.get(path)
            batch.revive(child)
            client_id, _ = roots.client_for(batch.session, path)
            facts = (as_datetime(sub.mtime), sub.etag, sub.stable_id, client_id)
            if (child.modified, child.etag, child.stable_id, child.client_id) != facts:
                child.modified, child.etag, child.stable_id, child.client_id = facts
                child.dirty = True

    def _remove(self, batch: _Batch, roots: RootMap, top: _Folder, path: str,
                activities: list[Activity]) -> None:
        """The folder and everything below it are gone; their files' removal is filed
        under the folder removed, however deep they were."""
        batch.load_below(path)
        for below in [f for p, f in batch.folders.items() if p.startswith(path) and f.live]:
            client_id = below.client_id
            if client_id is not None and below.listed:
                root = roots.root_of(below.path)
                activities += [self._activity(batch.account.id, client_id, root, below.path,
                                              "removed", row, filed_under=path)
                               for row in below.files]
            batch.remove(below)

    def _flush(self, batch: _Batch) -> None:
        conn = batch.session.connection()
        dirty = [f for f in batch.folders.values() if f.dirty]
        known = [f for f in dirty if f.id is not None]
        fresh = [f for f in dirty if f.id is None]
        if fresh:
            for folder, new_id in zip(fresh, reserve_ids(conn, _FOLDERS, len(fresh)),
                                      strict=True):
                folder.id = new_id
            insert_rows(conn, _FOLDERS, [{
                "id": f.id, "account_id": batch.account.id, "path": f.path,
                "parent": parent_of(f.path), "name": name_of(f.path),
                "created_at": batch.now, **_values(f, batch.now)} for f in fresh])
        if known:
            conn.execute(_UPDATE, [{"b_id": f.id, **{f"v_{k}": v for k, v in
                                                    _values(f, batch.now).items()}}
                                   for f in known])
        for folder in dirty:
            folder.dirty = False
        if batch.gone_folders:
            ids = ["/" + path for path in batch.gone_folders]
            for chunk in _chunks(ids):
                conn.execute(update(_RECORDS).where(
                    _RECORDS.c.account_id == batch.account.id,
                    _RECORDS.c.external_id.in_(chunk), _RECORDS.c.deleted_at.is_(None))
                    .values(deleted_at=batch.now))
            batch.gone_folders.clear()


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


def _values(folder: _Folder, now: datetime) -> dict[str, Any]:
    return {"client_id": folder.client_id, "files": folder.files,
            "file_count": len(folder.files),
            "file_bytes": sum(row.size or 0 for row in folder.files),
            "listed": folder.listed, "modified": folder.modified, "etag": folder.etag,
            "stable_id": folder.stable_id, "deleted_at": folder.deleted_at, "updated_at": now}


__all__ = ["KINDS", "DriveSink"]
