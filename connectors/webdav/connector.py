"""The WebDAV drive connector (Nextcloud, ownCloud, any RFC 4918 server): one ``drive``
stream of the folders below a root folder, each as a listing of its children.

The walk
--------
Folders are listed one at a time with PROPFIND ``Depth: 1`` (never ``infinity``, which
servers refuse or answer with the whole tree at once), depth first from an explicit stack
of paths. Each answer is parsed as it streams in (:mod:`connectors.webdav.listing`).

What it yields
--------------
One ``listing`` item (:mod:`hub.drive.listing`) per folder found new or changed: every
file (name, size, mtime, ETag, type, Nextcloud's file id) and every subfolder directly in
it. A listing is the whole truth about the folder's children, so a file or folder that is
gone needs no item of its own: the hub sees it missing from the listing.

Change detection
----------------
The cursor (:mod:`connectors.webdav.cursor`) keeps per folder only its ETag and a digest
of its direct children - its size grows with the number of folders, not of files.

* Where folder ETags change whenever anything below changes (Nextcloud and ownCloud,
  recognised by ``oc:fileid``; or ``trust_folder_etags=True``), a subfolder whose ETag is
  the one in the cursor is not listed at all: its whole subtree is unchanged.
* Elsewhere (wsgidav, ``rclone serve``, Apache) every folder is listed on every walk;
  the children digest (file name, ETag, size, mtime; subfolder names) tells whether
  anything directly in it changed, and an unchanged folder yields nothing.

Checkpoints
-----------
After a folder once ``page_size`` entries or ``folders_per_checkpoint`` folders have
passed since the last one, and at the end of the walk. The stack of pending folders is in
the cursor, so an interrupted walk goes on where it stopped; a completed walk drops it and
the next ``read`` starts at the root again. A folder is one listing however large: memory
holds the largest folder's listing, never the tree.
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

    def _checkpoint(self) -> Checkpoint:
        self.items_since = self.folders_since = 0
        return Checkpoint(self.stream, self.state.to_dict())

    def _trusted(self, entry: Entry) -> bool:
        if self.conn.trust_folder_etags is not None:
            return self.conn.trust_folder_etags and bool(entry.etag)
        return entry.file_id is not None and bool(entry.etag)

    def _folder(self, folder: str) -> Iterator[Item | Checkpoint]:
        state = self.state
        before = state.folders.get(folder)
        digest = ChildDigest()
        files: list[dict[str, Any]] = []
        folders: list[dict[str, Any]] = []
        subfolders: list[tuple[str, str | None]] = []
        own_etag = ""
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
                (folders if entry.is_folder else files).append(_facts(name, entry))
                if entry.is_folder:
                    subfolders.append((rel, entry.etag if self._trusted(entry) else None))
        except FolderMissing:
            if folder == "":
                raise
            # Removed between its parent's listing and now: the parent's next listing
            # says so.
            state.drop_subtree(folder)
            return
        if before is None or before[1] != digest.hexdigest():
            if before is not None:
                present = {rel for rel, _etag in subfolders}
                for gone in sorted(set(state.subfolders(folder)) - present):
                    state.drop_subtree(gone)
            yield Item(self.stream, "/" + folder, "listing", datetime.now(UTC),
                       {"folder": folder, "files": files, "folders": folders})
            self.items_since += len(files) + len(folders)
        state.folders[folder] = [own_etag, digest.hexdigest()]
        assert state.stack is not None
        for rel, etag in sorted(subfolders, reverse=True):
            known = state.folders.get(rel)
            if etag and known is not None and known[0] == etag:
                continue  # the server vouches that nothing below changed
            state.stack.append(rel)


def _facts(name: str, entry: Entry) -> dict[str, Any]:
    """What a listing says of one child (see hub.drive.listing)."""
    facts: dict[str, Any] = {"name": name, "etag": entry.etag,
                             "mtime": entry.modified.isoformat() if entry.modified else None}
    if not entry.is_folder:
        facts |= {"size": entry.size, "content_type": entry.content_type}
    if entry.file_id is not None:
        facts["file_id"] = entry.file_id
    return facts


def _as_folder(path: str) -> str:
    return path if path.endswith("/") else path + "/"
