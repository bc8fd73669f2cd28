"""The local-folder connector: indexes a folder on disk (often a synced OneDrive, Dropbox or
network-share folder) as one ``drive`` stream of file and folder items.

Identity. An item's external id is its path relative to the root in POSIX form; folders end
with ``/`` (``Kirjanpito/2026/``), files do not. Renaming or moving therefore shows up as a
delete of the old path and an add of the new one; both carry the entry's inode in ``data``,
so the hub can tell a move from a delete followed by an unrelated new file.

The walk. Directories are walked depth first with an explicit stack of directory paths
(``os.scandir``, children in name order), so memory holds one directory's listing plus the
stack, never the tree. Symbolic links (and Windows junctions) are never followed and never
indexed: one pointing inside the root names something already indexed at its real path,
one pointing outside would leak files that are not the client's and could loop.

The cursor (JSON-able, the connector's own)::

    {"version": 1,
     "dirs": {"<rel dir>": [dir_mtime_ns, digest, children], ...},   # "" is the root
     "pending": ["<rel dir>", ...]}      # the walk's stack at the checkpoint; [] when done

``children`` is one string per directory: ``/``-joined tokens, one per child in name order,
each ``<f|d><12 hex fingerprint><inode base 36>:<name>``. ``/`` cannot occur in a name, so it
is a safe separator. The fingerprint is a 48-bit hash of (type, mtime_ns, size, inode) and
``digest`` a 64-bit hash of the whole string, i.e. of the sorted (name, type, mtime_ns, size,
inode) list. One string per directory, not one object per file, keeps the cursor near 25
bytes per entry plus its name.

What a rescan can and cannot skip - honestly. A directory's mtime moves when an entry is
added to, removed from or renamed in *that* directory. It does not move when a file in it
is rewritten (the file's own mtime and size do), nor when anything deeper changes. So an
unchanged directory mtime proves only that its set of names is unchanged; it says nothing
about its files' contents or its subtree. Hence, on every rescan:

* every directory is still listed and every entry still ``stat``-ed - no I/O is saved, and
  a portable scanner cannot do better without a change journal (inotify, FSEvents, the USN
  journal) or the sync client's own API;
* what is saved is everything after the ``stat``: a directory whose digest is unchanged
  yields nothing and is not diffed entry by entry; a changed one yields only the entries
  whose token changed, plus ``deleted`` items for the names that vanished (and for every
  entry the cursor recorded below a vanished folder, without touching the disk).

Not caught: a file rewritten within one mtime tick of the previous scan with its size and
inode unchanged (coarse-timestamp filesystems such as FAT make this likelier) - the next
write that moves its mtime or size brings it back. A directory that cannot be read keeps
its previous state and yields nothing: unreadable is not the same as empty, and treating it
so would report its whole subtree deleted.

Resuming. A checkpoint is yielded every ``checkpoint_every`` directories with the updated
states and the stack of directories still to walk. Everything a checkpoint covers is already
folded into its states, so a walk resumed from it yields nothing twice; directories walked
after it are walked again and yield the same items, which the runner had not stored.
Each checkpoint carries the whole cursor, which is why it is per N directories, not per item.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError

STREAM = "drive"
CURSOR_VERSION = 1
_FP_BYTES = 6
_FP_HEX = 2 * _FP_BYTES
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    if number <= 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(_B36[rest])
    return "".join(reversed(out))


def _utc(mtime_ns: int) -> datetime:
    seconds, rest = divmod(mtime_ns, 1_000_000_000)
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=rest // 1000)
    except OverflowError:  # a corrupt timestamp must not stop the walk
        return _EPOCH


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    is_folder: bool
    mtime_ns: int
    size: int
    inode: int

    def token(self) -> str:
        kind = "d" if self.is_folder else "f"
        facts = f"{kind}{self.mtime_ns}-{self.size}-{self.inode}".encode()
        fingerprint = hashlib.blake2b(facts, digest_size=_FP_BYTES).hexdigest()
        return f"{kind}{fingerprint}{_base36(self.inode)}:{self.name}"


@dataclass(frozen=True, slots=True)
class _Recorded:
    """A child as the cursor remembers it."""

    name: str
    is_folder: bool
    inode: int
    token: str


def _parse_children(children: str) -> Iterator[_Recorded]:
    if not children:
        return
    for token in children.split("/"):
        inode, _, name = token[1 + _FP_HEX:].partition(":")
        yield _Recorded(name, token[0] == "d", int(inode, 36), token)


def _digest(children: str) -> str:
    return hashlib.blake2b(children.encode("utf-8"), digest_size=8).hexdigest()


class LocalFolderConnector:
    def __init__(self, root: str | Path, *, checkpoint_every: int = 200) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.root = Path(root)
        self.checkpoint_every = checkpoint_every

    def streams(self) -> Iterable[str]:
        return [STREAM]

    def check(self) -> None:
        if not self.root.exists():
            raise SourceError(f"{self.root} does not exist; check the path, and that the drive "
                              "or network share holding it is connected and mounted",
                              retryable=True)
        if not self.root.is_dir():
            raise SourceError(f"{self.root} is a file, not a folder; give the folder that "
                              "holds the client folders")
        try:
            with os.scandir(self.root) as entries:
                next(entries, None)
        except PermissionError as exc:
            raise SourceError(f"{self.root} cannot be read ({exc.strerror}); give the account "
                              "running Client Hub read access to it") from exc
        except OSError as exc:
            raise SourceError(f"{self.root} cannot be read ({exc.strerror}); check the disk or "
                              "network share", retryable=True) from exc

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        if stream != STREAM:
            raise ValueError(f"unknown stream {stream!r}; this connector has only {STREAM!r}")
        self.check()
        dirs, stack = self._load(stream, cursor)
        done = 0
        while stack:
            rel = stack.pop()
            listing = self._list(rel)
            if listing is None:
                if not rel:
                    raise SourceError(f"{self.root} could not be listed; check that it is "
                                      "readable and still mounted", retryable=True)
                continue  # gone or unreadable since its parent was listed: keep its state
            mtime_ns, entries = listing
            children = "/".join(entry.token() for entry in entries)
            digest = _digest(children)
            old = dirs.get(rel)
            if old is None or old[1] != digest:
                yield from self._diff(stream, rel, entries, old, dirs)
            dirs[rel] = [mtime_ns, digest, children]
            # Reversed so that pop() walks the subfolders in name order.
            stack.extend(_join(rel, e.name) for e in reversed(entries) if e.is_folder)
            done += 1
            if done % self.checkpoint_every == 0 and stack:
                yield self._checkpoint(stream, dirs, stack)
        yield self._checkpoint(stream, dirs, stack)

    @staticmethod
    def _load(stream: str, cursor: Mapping[str, Any] | None
              ) -> tuple[dict[str, Any], list[str]]:
        if not cursor:
            return {}, [""]
        if cursor.get("version") != CURSOR_VERSION or not isinstance(cursor.get("dirs"), dict):
            raise CursorInvalidated(stream, "the folder index was written by another version")
        pending = [str(p) for p in cursor.get("pending") or []]
        return dict(cursor["dirs"]), pending or [""]

    @staticmethod
    def _checkpoint(stream: str, dirs: dict[str, Any], stack: list[str]) -> Checkpoint:
        # Copies: the caller may keep the checkpoint while the walk goes on. The states
        # themselves are replaced, never mutated, so a shallow copy is enough.
        return Checkpoint(stream, {"version": CURSOR_VERSION, "dirs": dict(dirs),
                                   "pending": list(stack)})

    def _list(self, rel: str) -> tuple[int, list[_Entry]] | None:
        """The directory's own mtime and its indexable children in name order, or None
        when it cannot be read."""
        path = os.path.join(self.root, rel) if rel else os.fspath(self.root)
        try:
            # The root may itself be a link the admin chose; below it, a folder that has
            # become a link since its parent was listed must not be walked into.
            info = os.stat(path, follow_symlinks=not rel)
            if not stat.S_ISDIR(info.st_mode):
                return None
            mtime_ns = info.st_mtime_ns
            entries: list[_Entry] = []
            with os.scandir(path) as listing:
                for found in listing:
                    entry = self._entry(found)
                    if entry is not None:
                        entries.append(entry)
        except OSError:
            return None
        entries.sort(key=lambda e: e.name)
        return mtime_ns, entries

    @staticmethod
    def _entry(found: os.DirEntry[str]) -> _Entry | None:
        if found.is_symlink() or getattr(found, "is_junction", lambda: False)():
            return None
        try:
            found.name.encode("utf-8")
        except UnicodeEncodeError:
            # Bytes that are not UTF-8 cannot be stored as JSON text; such a name is
            # skipped rather than stored mangled under an id no one could open.
            return None
        try:
            info = found.stat(follow_symlinks=False)
        except OSError:  # removed or made unreadable while listing
            return None
        is_folder = stat.S_ISDIR(info.st_mode)
        if not is_folder and not stat.S_ISREG(info.st_mode):
            return None  # sockets, pipes and devices are not documents
        return _Entry(found.name, is_folder, info.st_mtime_ns, info.st_size, info.st_ino)

    def _diff(self, stream: str, rel: str, entries: list[_Entry], old: Any,
              dirs: dict[str, Any]) -> Iterator[Item]:
        recorded = {r.name: r for r in _parse_children(old[2])} if old is not None else {}
        present = {e.name for e in entries}
        for name in sorted(recorded.keys() - present):
            yield from self._gone(stream, _join(rel, name), recorded[name], dirs)
        for entry in entries:
            before = recorded.get(entry.name)
            token = entry.token()
            if before is not None and before.token == token:
                continue
            if before is not None and before.is_folder != entry.is_folder:
                yield from self._gone(stream, _join(rel, entry.name), before, dirs)
            yield self._item(stream, _join(rel, entry.name), entry)

    def _gone(self, stream: str, path: str, child: _Recorded,
              dirs: dict[str, Any]) -> Iterator[Item]:
        """Deleted items for ``child`` and, for a folder, everything recorded below it."""
        yield self._deleted(stream, path, child)
        if not child.is_folder:
            return
        stack = [path]
        while stack:
            folder = stack.pop()
            state = dirs.pop(folder, None)
            if state is None:
                continue
            for below in _parse_children(state[2]):
                below_path = _join(folder, below.name)
                yield self._deleted(stream, below_path, below)
                if below.is_folder:
                    stack.append(below_path)

    @staticmethod
    def _item(stream: str, path: str, entry: _Entry) -> Item:
        when = _utc(entry.mtime_ns)
        return Item(
            stream=stream,
            external_id=f"{path}/" if entry.is_folder else path,
            kind="folder" if entry.is_folder else "file",
            occurred_at=when,
            data={"path": path, "name": entry.name,
                  # A folder's st_size is a filesystem detail, not the size of its content.
                  "size": 0 if entry.is_folder else entry.size,
                  "modified": when.isoformat(), "is_folder": entry.is_folder,
                  "inode": entry.inode, "etag": f"{entry.mtime_ns}-{entry.size}"},
        )

    @staticmethod
    def _deleted(stream: str, path: str, child: _Recorded) -> Item:
        return Item(
            stream=stream,
            external_id=f"{path}/" if child.is_folder else path,
            kind="folder" if child.is_folder else "file",
            occurred_at=datetime.now(UTC),
            data={"path": path, "name": child.name, "is_folder": child.is_folder,
                  "inode": child.inode},
            deleted=True,
        )


__all__ = ["STREAM", "LocalFolderConnector"]
