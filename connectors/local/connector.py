"""The local-folder connector: indexes a folder on disk (often a synced OneDrive, Dropbox or
network-share folder) as one ``drive`` stream of folder listings.

What it yields. One ``listing`` item per folder it finds new or changed - the folder's
files (name, size, mtime, inode) and subfolders (name, mtime, inode) - as
:mod:`hub.drive.listing` describes; the hub compares it with the folder it holds and
sees what was added, changed, moved or removed. A listing is the whole truth about the
folder's children, so a file or folder gone from disk needs no item of its own.
Identity: paths relative to the root in POSIX form, folders ending in ``/``; the inode
rides along, so the hub tells a move from a removal and an unrelated new file.

The walk. Directories are walked depth first with an explicit stack of directory paths
(``os.scandir``), so memory holds one directory's listing, the stack and the cursor (a
few dozen bytes a directory), never the tree's files.
Symbolic links (and Windows junctions) are never followed and never indexed: one pointing
inside the root names something already indexed at its real path, one pointing outside
would leak files that are not the client's and could loop.

The cursor (JSON-able, the connector's own)::

    {"version": 3,
     "dirs": {"<rel dir>": ["<digest>", ["<subfolder name>", ...]], ...},  # "" is the root
     "pending": ["<rel dir>", ...]}           # the walk's stack at the checkpoint

``digest`` is a 64-bit hash of the directory's files (name, size, mtime, inode) and its
subfolders (name and inode only - a subfolder's mtime moves with what is inside it, which
that subfolder's own listing reports); with the subfolders' names, so that a subfolder
gone from a listing is forgotten with everything below it: some 30 bytes a directory
plus its subfolders' names, whatever it holds.

What a rescan can and cannot skip - honestly. A directory's mtime moves when an entry is
added to, removed from or renamed in *that* directory, not when a file in it is
rewritten nor when anything deeper changes. So on every rescan every directory is still
listed and every entry ``stat``-ed - a portable scanner cannot do better without a change
journal (inotify, FSEvents, the USN journal) or the sync client's own API. What is saved
is everything after the ``stat``: a directory whose digest is unchanged yields nothing.
Not caught: a file rewritten within one mtime tick of the previous scan with its size and
inode unchanged (coarse-timestamp filesystems such as FAT make this likelier) - the next
write that moves its mtime or size brings it back. A directory that cannot be read keeps
its previous state and yields nothing: unreadable is not the same as empty, and treating
it so would report its whole subtree removed.

Resuming. A checkpoint is yielded every ``checkpoint_every`` directories with the updated
digests and the stack of directories still to walk; a walk resumed from it yields nothing
twice, and directories walked after it are walked again and yield the same listings.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError

STREAM = "drive"
CURSOR_VERSION = 3
_DIR = stat.S_IFDIR
_REG = stat.S_IFREG


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _forget(dirs: dict[str, list[Any]], rel: str) -> None:
    """Drop the state of ``rel`` and of every directory below it."""
    below = rel + "/"
    for key in [k for k in dirs if k == rel or k.startswith(below)]:
        del dirs[key]


def _folder(rel: str) -> str:
    """The drive path of a directory: ``""`` for the root, else ``a/b/``."""
    return f"{rel}/" if rel else ""


class LocalFolderConnector:
    def __init__(self, root: str | Path, *, checkpoint_every: int = 1000) -> None:
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
        whole = stack == [""]  # a walk from the root, not one resumed half way
        seen: set[str] = set()
        done = 0
        while stack:
            rel = stack.pop()
            seen.add(rel)
            listing = self._list(rel)
            if listing is None:
                if not rel:
                    raise SourceError(f"{self.root} could not be listed; check that it is "
                                      "readable and still mounted", retryable=True)
                # Gone or unreadable since its parent was listed: it and what is below it
                # keep their state (the parent's listing says whether it is gone).
                seen.update(d for d in dirs if d.startswith(rel + "/"))
                continue
            files, folders, digest = listing
            before = dirs.get(rel)
            if before is None or before[0] != digest:
                names = [f["name"] for f in folders]
                if before is not None:
                    # A subfolder this listing no longer names is gone from the index with
                    # all below it; its digests go too, so that should it come back it is
                    # listed again, not taken for known.
                    for gone in set(before[1]) - set(names):
                        _forget(dirs, _join(rel, gone))
                yield Item(stream, "/" + _folder(rel), "listing", datetime.now(UTC),
                           {"folder": _folder(rel), "files": files, "folders": folders})
                dirs[rel] = [digest, names]
            # Reversed so that pop() walks the subfolders in name order.
            stack.extend(_join(rel, f["name"]) for f in reversed(folders))
            done += 1
            if done % self.checkpoint_every == 0 and stack:
                yield self._checkpoint(stream, dirs, stack)
        if whole:
            # A directory this walk did not reach is gone (or unreadable): forgotten, so
            # that should it come back it is listed again rather than taken for known.
            dirs = {rel: digest for rel, digest in dirs.items() if rel in seen}
        yield self._checkpoint(stream, dirs, stack)

    @staticmethod
    def _load(stream: str, cursor: Mapping[str, Any] | None
              ) -> tuple[dict[str, list[Any]], list[str]]:
        if not cursor:
            return {}, [""]
        if cursor.get("version") != CURSOR_VERSION or not isinstance(cursor.get("dirs"), dict):
            raise CursorInvalidated(stream, "the folder index was written by another version")
        pending = [str(p) for p in cursor.get("pending") or []]
        try:
            dirs = {str(k): [str(v[0]), [str(n) for n in v[1]]]
                    for k, v in cursor["dirs"].items()}
        except (TypeError, IndexError, KeyError) as exc:
            raise CursorInvalidated(stream, "the folder index's cursor is malformed") from exc
        return dirs, pending or [""]

    @staticmethod
    def _checkpoint(stream: str, dirs: dict[str, list[Any]], stack: list[str]) -> Checkpoint:
        # A copy: the caller may keep the checkpoint while the walk goes on (a state is
        # replaced, never changed in place, so a shallow copy is enough).
        return Checkpoint(stream, {"version": CURSOR_VERSION, "dirs": dict(dirs),
                                   "pending": list(stack)})

    def _list(self, rel: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str] | None:
        """The directory's files and subfolders in name order and the digest of them,
        or None when it cannot be read."""
        path = os.path.join(self.root, rel) if rel else os.fspath(self.root)
        files: list[dict[str, Any]] = []
        folders: list[dict[str, Any]] = []
        kept: list[tuple[str, int]] = []  # subfolders by name and identity (see below)
        try:
            # The root may itself be a link the admin chose; below it, a folder that has
            # become a link since its parent was listed must not be walked into.
            if not stat.S_ISDIR(os.stat(path, follow_symlinks=not rel).st_mode):
                return None
            with os.scandir(path) as listing:
                for found in listing:
                    entry = self._entry(found)
                    if entry is None:
                        continue
                    name, kind, size, mtime_ns, inode = entry
                    if kind == _DIR:
                        folders.append({"name": name, "mtime": mtime_ns // 1000,
                                        "inode": inode})
                        kept.append((name, inode))
                    else:
                        files.append({"name": name, "size": size, "mtime": mtime_ns // 1000,
                                      "inode": inode})
        except OSError:
            return None
        files.sort(key=_by_name)
        folders.sort(key=_by_name)
        kept.sort()
        # Files by all they are; subfolders by name and identity only: what changes inside
        # a subfolder moves its mtime, and must not make this folder look changed too.
        # (Microsecond mtimes: two writes within one microsecond look alike.)
        facts = json.dumps([files, kept], ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.blake2b(facts.encode("utf-8"), digest_size=8).hexdigest()
        return files, folders, digest

    @staticmethod
    def _entry(found: os.DirEntry[str]) -> tuple[str, int, int, int, int] | None:
        name = found.name
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                # Bytes that are not UTF-8 cannot be stored as JSON text; such a name is
                # skipped rather than stored mangled under an id no one could open.
                return None
        try:
            info = found.stat(follow_symlinks=False)
        except OSError:  # removed or made unreadable while listing
            return None
        kind = stat.S_IFMT(info.st_mode)
        if kind == _DIR:
            # A Windows junction is a directory to stat; it is no folder of the drive.
            if getattr(found, "is_junction", lambda: False)():
                return None
            return name, kind, 0, info.st_mtime_ns, info.st_ino
        if kind != _REG:
            return None  # links, sockets, pipes and devices are not documents
        return name, kind, info.st_size, info.st_mtime_ns, info.st_ino


def _by_name(entry: dict[str, Any]) -> str:
    return str(entry["name"])


__all__ = ["STREAM", "LocalFolderConnector"]
