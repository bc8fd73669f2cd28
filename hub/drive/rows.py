"""From a connector's item to a drive-index row, and what a new row says happened.

Pure functions, no database: the per-item and the set-based paths of the sink both go
through them, which is what keeps the two paths' results identical.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Any, Literal

from hub.sync.protocol import Item
from hub.timeutil import aware_time

Change = Literal["added", "changed"]

#: The columns a sync writes; everything else about a row is the hub's own.
SOURCE_COLUMNS = ("parent", "name", "is_folder", "size", "content_type", "modified", "etag",
                  "modified_by", "stable_id")


def parent_of(path: str) -> str:
    """``a/b/c.pdf`` -> ``a/b/``; ``a/b/`` -> ``a/``; top level -> ``""``."""
    head = path.rstrip("/").rpartition("/")[0]
    return f"{head}/" if head else ""


def name_of(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def _size(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def stable_id(data: Mapping[str, Any]) -> str | None:
    if data.get("file_id") not in (None, ""):
        return f"file_id:{data['file_id']}"[:100]
    if isinstance(data.get("inode"), int) and data["inode"] > 0:
        return f"inode:{data['inode']}"
    return None


def is_entry(item: Item) -> bool:
    """A file or folder item the index can hold (external ids never start with ``/``)."""
    return (item.kind in ("file", "folder") and bool(item.external_id)
            and not item.external_id.startswith("/") and isinstance(item.data, Mapping))


def row_of(item: Item) -> dict[str, Any]:
    """The source columns of the row for ``item`` (see :data:`SOURCE_COLUMNS`)."""
    data = item.data
    path = item.external_id
    is_folder = item.kind == "folder"
    name = _text(data.get("name"), 300) or name_of(path)
    parent = data.get("parent")
    content_type = _text(data.get("content_type"), 200)
    if content_type is None and not is_folder:
        # Local folders give no type; the name's extension is what a browser would go by.
        content_type = mimetypes.guess_type(name, strict=False)[0]
    return {
        "parent": parent if isinstance(parent, str) else parent_of(path),
        "name": name,
        "is_folder": is_folder,
        "size": None if is_folder else _size(data.get("size")),
        "content_type": content_type,
        "modified": aware_time(data.get("modified")) or item.occurred_at,
        "etag": _text(data.get("etag"), 200),
        "modified_by": _text(data.get("modified_by"), 300),
        "stable_id": stable_id(data),
    }


def change_of(before: Mapping[str, Any] | None, row: Mapping[str, Any]) -> Change | None:
    """What the new row says happened to a file: nothing, ``added`` or ``changed``.

    A WebDAV folder that changed yields all its children again, unchanged ones included,
    so a file counts as changed only when its ETag, size or modification time moved.
    Folders are containers: creating one is not activity a colleague needs to read about.
    """
    if row["is_folder"]:
        return None
    if before is None or before["deleted_at"] is not None or before["is_folder"]:
        return "added"
    if (before["etag"], before["size"], before["modified"]) != (
            row["etag"], row["size"], row["modified"]):
        return "changed"
    return None


def differs(before: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """Does the stored row need writing at all (re-yielded items usually do not)?"""
    return before["deleted_at"] is not None or any(
        before[column] != row[column] for column in SOURCE_COLUMNS)
