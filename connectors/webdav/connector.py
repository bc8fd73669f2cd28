"""The WebDAV drive connector (Nextcloud, ownCloud, any RFC 4918 server): one ``drive``
stream of the files and folders below a root folder.

The walk
--------
Folders are listed one at a time with PROPFIND ``Depth: 1`` (never ``infinity``, which
servers refuse or answer with the whole tree at once), depth first from an explicit stack
of paths. Each answer is parsed as it streams in (:mod:`connectors.webdav.listing`).

Change detection
----------------
The cursor (:mod:`connectors.webdav.cursor`) keeps per folder only its ETag and a digest
of its direct children - its size grows with the number of folders, not of files.

* Where folder ETags change whenever anything below changes (Nextcloud and ownCloud,
  recognised by ``oc:fileid``; or ``trust_folder_etags=True``), a subfolder whose ETag is
  the one in the cursor is not listed at all: its whole subtree is unchanged.
* Elsewhere (wsgidav, ``rclone serve``, Apache) every folder is listed on every walk;
  the children digest (file name, ETag, size, mtime; subfolder names) tells whether
  anything directly in it changed.

An unchanged folder yields nothing. A changed folder - or one seen for the first time -
yields ALL its current children as items, then one listing marker (below). Unchanged
children are among them: the cursor does not remember files one by one, so the hub
tells them apart by ``data["etag"]`` (same ETag: nothing happened).

Deletions: the listing-marker contract
--------------------------------------
After the children of every re-listed folder F comes::

    Item(stream, external_id="/" + F, kind="listing", occurred_at=<now>,
         data={"folder": F, "children": [<name>, ..., <subfolder name + "/">, ...]})

(external ids of files and folders never start with "/", so the marker's id cannot
collide with them). For a ``listing`` item the hub MUST, in the same transaction:

1. mark gone every live record of the stream whose ``data["parent"] == F`` and whose
   ``data["name"]`` (plus "/" for a folder) is not in ``children``;
2. for each folder so marked, mark gone every live record whose external id starts with
   that folder's external id (its whole subtree).

In addition the connector yields ``Item(..., kind="folder", deleted=True)`` for a
subfolder that it had listed before and that is gone now (known from the cursor), so a
folder removal is explicit; file removals come only through the marker's sweep. The
marker comes after the folder's last child and names every child, so a sweep never acts
on a half-listed folder, whatever checkpoints fell in between.

Checkpoints
-----------
After a folder once ``page_size`` items or ``folders_per_checkpoint`` folders have
passed since the last one, and at the end of the walk. A folder with more than
``page_size`` children also checkpoints in its middle with the folder still pending: a
resume lists that folder again (the runner upserts, so nothing is doubled in the hub).
The stack of pending folders is in the cursor, so an interrupted walk goes on where it
stopped; a completed walk drops it and the next ``read`` starts at the root again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.webdav.client import DavClient, FolderMissing
from connectors.webdav.cursor import ChildDigest, WalkCursor
from connectors.webdav.listing import Entry
from hub.sync.protocol import Checkpoint, Item, SourceError

STREAM = "drive"


class WebDavConnector:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        root: str = "/",
        client: httpx.Client | None = None,
        page_size: int = 500,
        folders_per_checkpoint: int = 100,
        trust_folder_etags: bool | None = None,
    ) -> None:
        if page_size < 1 or folders_per_checkpoint < 1:
            raise ValueError("page_size and folders_per_checkpoint must be positive")
        self.dav = DavClient(base_url, username, password, client)
        #: The synced folder below the DAV root, decoded: "" or "/Asiakkaat".
        self.root = "/" + root.strip("/") if root.strip("/") else ""
        self.page_size = page_size
        self.folders_per_checkpoint = folders_per_checkpoint
        self.trust_folder_etags = trust_folder_etags

    def close(self) -> None:
        """Closes the HTTP client unless it was handed in (then its owner closes it)."""
        self.dav.close()

    def __enter__(self) -> WebDavConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def streams(self) -> list[str]:
        return [STREAM]

    def check(self) -> None:
        try:
            entries = list(self.dav.list(self.abs_path(""), depth="0"))
        except FolderMissing as exc:
            raise SourceError(f"the folder {self.root or '/'!r} does not exist on the server "
                              "(HTTP 404): check the folder path and the server address "
                              "(Nextcloud: .../remote.php/dav/files/<user>/)") from exc
        if not entries or not entries[0].is_folder:
            raise SourceError(f"{self.root or '/'!r} on the server is not a folder: point "
                              "the account at a folder")

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        if stream != STREAM:
            raise SourceError(f"not a WebDAV stream: {stream!r}")
        state = WalkCursor.load(stream, cursor, self.root)
        if state.stack is None:
            state.stack = [""]
        yield from _Walk(self, stream, state).run()

    def mkcol(self, path: str) -> None:
        """Creates the folder ``path`` (relative to the root); its parent must exist."""
        self.dav.mkcol(self.abs_path(_as_folder(path)))

    def move(self, src: str, dst: str, overwrite: bool = False) -> None:
        """Moves a file or folder (paths relative to the root; folders end in "/")."""
        self.dav.move(self.abs_path(src), self.abs_path(dst), overwrite)

    def abs_path(self, rel: str) -> str:
        return f"{self.dav.base_path}{self.root}/{rel.lstrip('/')}"

    def rel_path(self, entry: Entry) -> str | None:
        """The entry's path relative to the root (folders end in "/"), None if outside."""
        prefix = f"{self.dav.base_path}{self.root}/"
        path = entry.path
        if entry.is_folder and not path.endswith("/"):
            path += "/"
        if not path.startswith(prefix):
            return None
        return path[len(prefix):]


class _Walk:
    def __init__(self, conn: WebDavConnector, stream: str, state: WalkCursor) -> None:
        self.conn = conn
        self.stream = stream
        self.state = state
        self.started = datetime.now(UTC)
        self.items_since = 0
        self.folders_since = 0

    def run(self) -> Iterator[Item | Checkpoint]:
        state = self.state
        assert state.stack is not None
        while state.stack:
            folder = state.stack.pop()
            yield from self._folder(folder)
            self.folders_since += 1
            if (self.items_since >= self.conn.page_size
                    or self.folders_since >= self.conn.folders_per_checkpoint):
                yield self._checkpoint()
        state.stack = None
        yield self._checkpoint()

    def _checkpoint(self, pending: str | None = None) -> Checkpoint:
        self.items_since = self.folders_since = 0
        return Checkpoint(self.stream, self.state.to_dict(pending))

    def _emit(self, item: Item, folder: str) -> Iterator[Item | Checkpoint]:
        yield item
        self.items_since += 1
        if self.items_since >= self.conn.page_size:
            yield self._checkpoint(pending=folder)

    def _trusted(self, entry: Entry) -> bool:
        if self.conn.trust_folder_etags is not None:
            return self.conn.trust_folder_etags and bool(entry.etag)
        return entry.file_id is not None and bool(entry.etag)

    def _folder(self, folder: str) -> Iterator[Item | Checkpoint]:
        state = self.state
        before = state.folders.get(folder)
        digest = ChildDigest()
        names: list[str] = []
        subfolders: list[tuple[str, str | None]] = []
        held: list[tuple[str, Entry]] = []
        own_etag = ""
        # A folder seen for the first time streams its items out as they are parsed; a
        # known one is held back until its digest says whether anything changed.
        stream_out = before is None
        try:
            for entry in self.conn.dav.list(self.conn.abs_path(folder)):
                rel = self.conn.rel_path(entry)
                if rel is None:
                    continue
                if rel == folder:
                    own_etag = (entry.etag or "") if self._trusted(entry) else ""
                    continue
                name = rel[len(folder):].rstrip("/")
                if not rel.startswith(folder) or not name or "/" in name:
                    continue  # not a direct child: a server quirk, ignored
                digest.add(name, entry)
                names.append(name + "/" if entry.is_folder else name)
                if entry.is_folder:
                    subfolders.append((rel, entry.etag if self._trusted(entry) else None))
                if stream_out:
                    yield from self._emit(self._item(rel, name, folder, entry), folder)
                else:
                    held.append((rel, entry))
        except FolderMissing:
            if folder == "":
                raise
            # Removed between its parent's listing and now: the parent's next listing
            # sweeps it; say so at once too.
            state.drop_subtree(folder)
            yield from self._emit(self._gone(folder), folder)
            return
        if before is None or before[1] != digest.hexdigest():
            for rel, entry in held:
                name = rel[len(folder):].rstrip("/")
                yield from self._emit(self._item(rel, name, folder, entry), folder)
            if before is not None:
                present = {rel for rel, _etag in subfolders}
                for gone in sorted(set(state.subfolders(folder)) - present):
                    state.drop_subtree(gone)
                    yield from self._emit(self._gone(gone), folder)
            yield from self._emit(Item(self.stream, "/" + folder, "listing", datetime.now(UTC),
                                       {"folder": folder, "children": names}), folder)
        del held, names
        state.folders[folder] = [own_etag, digest.hexdigest()]
        assert state.stack is not None
        for rel, etag in sorted(subfolders, reverse=True):
            known = state.folders.get(rel)
            if etag and known is not None and known[0] == etag:
                continue  # the server vouches that nothing below changed
            state.stack.append(rel)

    def _item(self, rel: str, name: str, parent: str, entry: Entry) -> Item:
        data: dict[str, Any] = {
            "path": rel,
            "name": name,
            "parent": parent,
            "is_folder": entry.is_folder,
            "size": entry.size,
            "etag": entry.etag,
            "content_type": entry.content_type,
            "modified": entry.modified.isoformat() if entry.modified else None,
        }
        if entry.file_id is not None:
            data["file_id"] = entry.file_id
        if entry.owner is not None:
            data["owner"] = entry.owner
        return Item(self.stream, rel, "folder" if entry.is_folder else "file",
                    entry.modified or self.started, data)

    def _gone(self, folder: str) -> Item:
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        parent = folder[: len(folder) - len(name) - 1]
        return Item(self.stream, folder, "folder", datetime.now(UTC),
                    {"path": folder, "name": name, "parent": parent, "is_folder": True},
                    deleted=True)


def _as_folder(path: str) -> str:
    return path if path.endswith("/") else path + "/"
