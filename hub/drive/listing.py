"""What drive connectors yield, and how a folder's files are kept: pure functions, no I/O.

A drive connector reads a drive folder by folder and yields, for each folder it found
new or changed, one *listing*::

    Item(stream, external_id="/" + F, kind="listing", occurred_at=<when read>,
         data={"folder": F,                 # "" is the drive root, else "a/b/"
               "files": [{"name", "size", "mtime", "etag", "content_type",
                          "inode" | "file_id", "modified_by"}, ...],
               "folders": [{"name", "mtime", "etag", "inode" | "file_id"}, ...]})

A listing is the whole truth about the folder's direct children: a file or subfolder it
does not name is gone (a subfolder with everything below it). Only ``name`` is required;
``mtime`` is microseconds since 1970 (or an ISO 8601 time), ``inode``/``file_id`` the
source's identity of the entry, which survives a rename and tells a move from a removal
and an unrelated addition. External ids of listings start with ``/``, so they never meet
those of single-entry items.

A connector whose source reports changes one entry at a time (a delta API) yields
instead ``Item(stream, external_id=<path>, kind="file" | "folder", data={"name", ...
the same facts ...})``, or with ``deleted=True``, for each changed entry; the hub folds
them into the folder that holds them (:func:`apply_entries`).

Each file is a :class:`FileRow`. Stored, a folder's files are a list of arrays in name
order, ``[name, size, mtime, stable_id, etag, content_type, modified_by]`` with trailing
nulls left out: a few dozen bytes a file, read and written with the folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from hub.sync.protocol import Item
from hub.timeutil import aware_time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FileRow(NamedTuple):
    """One file of a folder as the index keeps it. A tuple, so that a 100,000-file drive
    costs no more to read and compare than the arrays it is stored as."""

    name: str
    size: int | None = None
    #: Microseconds since 1970.
    mtime: int | None = None
    #: The source's identity of the file, which survives a rename (``inode:<n>``,
    #: ``file_id:<id>``).
    stable_id: str | None = None
    etag: str | None = None
    content_type: str | None = None
    modified_by: str | None = None


def stored_row(row: Sequence[Any]) -> list[Any]:
    """The array the index stores for a row: its fields in order, trailing nulls left out
    (``FileRow(*array)`` reads it back)."""
    out = list(row)
    while out and out[-1] is None:
        out.pop()
    return out


_BY_NAME = attrgetter("name")


def parent_of(path: str) -> str:
    """``a/b/c.pdf`` -> ``a/b/``; ``a/b/`` -> ``a/``; top level -> ``""``."""
    head = path.rstrip("/").rpartition("/")[0]
    return f"{head}/" if head else ""


def name_of(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


def mtime_of(value: Any) -> int | None:
    """Microseconds since 1970 from what a connector gave (an int, or an ISO time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    when = aware_time(value)
    if when is None:
        return None
    return (when - _EPOCH) // timedelta(microseconds=1)


def as_datetime(mtime: int | None) -> datetime | None:
    if mtime is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=mtime)
    except OverflowError:
        return None


def stable_id(data: Mapping[str, Any]) -> str | None:
    if data.get("file_id") not in (None, ""):
        return f"file_id:{data['file_id']}"[:100]
    inode = data.get("inode")
    if isinstance(inode, int) and not isinstance(inode, bool) and inode > 0:
        return f"inode:{inode}"
    return None


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def _size(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def file_row(data: Mapping[str, Any]) -> FileRow | None:
    """The row for one file of a listing, or None when it names no file."""
    name = data.get("name")
    if not isinstance(name, str) or not name or "/" in name or len(name) > 300:
        return None
    return FileRow(name, _size(data.get("size")),
                   mtime_of(data.get("mtime", data.get("modified"))), stable_id(data),
                   _text(data.get("etag"), 200), _text(data.get("content_type"), 200),
                   _text(data.get("modified_by"), 300))


def _plain_file(data: dict[str, Any]) -> FileRow | None:
    """:func:`file_row` for the common case - a local listing's name, size, mtime and
    inode, nothing else - without its general checks (a fifth of a first index's time);
    None for anything else, which :func:`file_row` reads."""
    if len(data) != 4:
        return None
    name, size, mtime, inode = (data.get("name"), data.get("size"), data.get("mtime"),
                                data.get("inode"))
    if (type(name) is not str or not name or "/" in name or len(name) > 300
            or type(size) is not int or type(mtime) is not int or type(inode) is not int
            or inode <= 0):
        return None
    return FileRow(name, size, mtime, f"inode:{inode}")


def changed(before: FileRow, after: FileRow) -> bool:
    """Did the file change (its content, by what the source says of it)? A fact only one
    side has (a server that stopped sending modification times) proves nothing."""
    for old, new in ((before.size, after.size), (before.mtime, after.mtime),
                     (before.etag, after.etag)):
        if old is not None and new is not None and old != new:
            return True
    return False


@dataclass(frozen=True, slots=True)
class SubFolder:
    name: str
    mtime: int | None = None
    etag: str | None = None
    stable_id: str | None = None


@dataclass(slots=True)
class Listing:
    """A folder's children as a listing gives them."""

    folder: str
    files: list[FileRow] = field(default_factory=list)
    folders: list[SubFolder] = field(default_factory=list)


def is_listing(item: Item) -> bool:
    data = item.data
    return (item.kind == "listing" and isinstance(data, Mapping)
            and isinstance(data.get("folder"), str) and item.external_id.startswith("/"))


def listing_of(item: Item) -> Listing | None:
    """The listing an item carries, or None when it is malformed (kept raw, counted)."""
    if not is_listing(item):
        return None
    data = item.data
    folder = data["folder"]
    if folder and not folder.endswith("/"):
        folder += "/"
    files = data.get("files") or []
    folders = data.get("folders") or []
    if not isinstance(files, list) or not isinstance(folders, list):
        return None
    rows: dict[str, FileRow] = {}
    for entry in files:
        row = _plain_file(entry) if type(entry) is dict else None
        if row is None:
            row = file_row(entry) if isinstance(entry, Mapping) else None
        if row is not None:
            rows[row.name] = row
    subs: dict[str, SubFolder] = {}
    for entry in folders:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name")
        if isinstance(name, str) and name and "/" not in name and len(name) <= 300:
            subs[name] = SubFolder(name, mtime_of(entry.get("mtime", entry.get("modified"))),
                                   _text(entry.get("etag"), 200), stable_id(entry))
    return Listing(folder, sorted(rows.values(), key=_BY_NAME),
                   sorted(subs.values(), key=_BY_NAME))


def apply_entries(base: Listing, items: Iterable[Item]) -> Listing:
    """A stored folder with single-entry changes folded in (a delta connector's items)."""
    files = {row.name: row for row in base.files}
    folders = {sub.name: sub for sub in base.folders}
    for item in items:
        name = name_of(item.external_id)
        if item.kind == "file":
            files.pop(name, None)
            row = None if item.deleted else file_row({**item.data, "name": name})
            if row is not None:
                files[name] = row
        elif item.kind == "folder":
            folders.pop(name, None)
            if not item.deleted:
                folders[name] = SubFolder(name, mtime_of(item.data.get("mtime")),
                                          _text(item.data.get("etag"), 200),
                                          stable_id(item.data))
    return Listing(base.folder, sorted(files.values(), key=_BY_NAME),
                   sorted(folders.values(), key=_BY_NAME))


def is_entry(item: Item) -> bool:
    """A single file or folder item (external ids of entries never start with ``/``)."""
    return (item.kind in ("file", "folder") and bool(item.external_id)
            and not item.external_id.startswith("/") and isinstance(item.data, Mapping))


__all__ = ["FileRow", "Listing", "SubFolder", "apply_entries", "as_datetime", "changed",
           "file_row", "is_entry", "is_listing", "listing_of", "mtime_of", "name_of",
           "parent_of", "stable_id", "stored_row"]
