"""The WebDAV connector's cursor: one small record per folder, never one per file.

``{"v": 1, "root": "/Asiakkaat", "folders": {"": [etag, digest], "Tilinpäätös/": [...]},
"walk": {"stack": ["Tilinpäätös/2026/", ...]}}``

* ``folders`` maps a folder (relative to the root, ``""`` for the root, otherwise ending
  in ``/``) to the folder's own ETag - kept only where the server's folder ETags change
  whenever anything below changes (Nextcloud, ownCloud), else ``""`` - and a digest of
  its direct children as of its last listing (:class:`ChildDigest`).
* ``walk`` is present only while a walk is under way: the folders still to list, as
  paths. It holds at most the unvisited siblings along the current branch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.webdav.listing import Entry
from hub.sync.protocol import CursorInvalidated

VERSION = 1
_MASK = (1 << 64) - 1


class ChildDigest:
    """An order-independent digest of a folder's direct children.

    Files count with their ETag, size and mtime, so any change shows; subfolders count
    by name alone, so a change deep below does not make every ancestor look changed.
    Order-independent (a sum of per-child hashes) so that it can be updated while the
    listing streams past, in whatever order the server sends it.
    """

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, name: str, entry: Entry) -> None:
        if entry.is_folder:
            key = f"{name}/"
        else:
            modified = entry.modified.isoformat() if entry.modified else ""
            key = f"{name}\0{entry.etag or ''}\0{entry.size}\0{modified}"
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        self.total = (self.total + int.from_bytes(digest, "big")) & _MASK
        self.count += 1

    def hexdigest(self) -> str:
        return f"{self.count}:{self.total:016x}"


@dataclass(slots=True)
class WalkCursor:
    root: str
    folders: dict[str, list[str]] = field(default_factory=dict)
    stack: list[str] | None = None

    @classmethod
    def load(cls, stream: str, data: Mapping[str, Any] | None, root: str) -> WalkCursor:
        if not data:
            return cls(root=root)
        if data.get("v") != VERSION:
            raise CursorInvalidated(stream, f"cursor version {data.get('v')!r} is not "
                                    f"{VERSION}; the drive is read again")
        if data.get("root") != root:
            raise CursorInvalidated(stream, f"the synced folder changed from "
                                    f"{data.get('root')!r} to {root!r}")
        folders = data.get("folders")
        walk = data.get("walk")
        if not isinstance(folders, Mapping) or not (walk is None or isinstance(walk, Mapping)):
            raise CursorInvalidated(stream, "the cursor is malformed")
        stack = None
        if walk is not None:
            stack = [str(p) for p in walk.get("stack", [])]
        return cls(root=root, stack=stack,
                   folders={str(k): [str(v[0]), str(v[1])] for k, v in folders.items()})

    def to_dict(self, pending: str | None = None) -> dict[str, Any]:
        """A snapshot; ``pending`` is a folder being listed, to be listed again on resume."""
        data: dict[str, Any] = {"v": VERSION, "root": self.root,
                                "folders": {k: list(v) for k, v in self.folders.items()}}
        stack = list(self.stack or [])
        if pending is not None:
            stack.append(pending)
        if self.stack is not None or pending is not None:
            data["walk"] = {"stack": stack}
        return data

    def subfolders(self, folder: str) -> list[str]:
        """Known folders directly below ``folder``."""
        return [k for k in self.folders
                if k != folder and k.startswith(folder) and "/" not in k[len(folder):-1]]

    def drop_subtree(self, folder: str) -> None:
        for key in [k for k in self.folders if k.startswith(folder)]:
            del self.folders[key]
        if self.stack:
            self.stack = [p for p in self.stack if not p.startswith(folder)]
