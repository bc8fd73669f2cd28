"""Reading the drive index: folders, and files as entries of the folder that holds them.

Paths are relative to the drive root, POSIX style, folders ending in ``/``. Only live
folders count (a folder deleted at the source has ``deleted_at``); a file is live while
its folder's last listing names it.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.drive.listing import FileRow, as_datetime
from hub.drive.models import DriveFolder


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or folder of the index, as the API and the folder checks see it."""

    path: str
    parent: str
    name: str
    is_folder: bool
    client_id: int | None
    size: int | None = None
    modified: datetime | None = None
    etag: str | None = None
    stable_id: str | None = None
    content_type: str | None = None
    modified_by: str | None = None
    #: The folder row's id (for a file, the id of the folder that holds it).
    folder_id: int | None = None


def content_type(row: FileRow) -> str | None:
    """The source's type, else what the name's extension says (as a browser would)."""
    return row.content_type or mimetypes.guess_type(row.name, strict=False)[0]


def file_entry(folder: DriveFolder, row: FileRow) -> Entry:
    return Entry(folder.path + row.name, folder.path, row.name, False, folder.client_id,
                 row.size, as_datetime(row.mtime), row.etag, row.stable_id, content_type(row),
                 row.modified_by, folder.id)


def folder_entry(folder: DriveFolder) -> Entry:
    return Entry(folder.path, folder.parent, folder.name, True, folder.client_id,
                 None, folder.modified, folder.etag, folder.stable_id, None, None, folder.id)


def live_folder(session: Session, account_id: int, path: str) -> DriveFolder | None:
    return session.scalar(select(DriveFolder).where(
        DriveFolder.account_id == account_id, DriveFolder.path == path,
        DriveFolder.deleted_at.is_(None)))


def subfolders(session: Session, account_id: int, path: str) -> list[DriveFolder]:
    return list(session.scalars(select(DriveFolder).where(
        DriveFolder.account_id == account_id, DriveFolder.parent == path,
        DriveFolder.path != path, DriveFolder.deleted_at.is_(None))
        .order_by(DriveFolder.name)))


def folders_under(session: Session, account_id: int, prefix: str = "") -> Iterator[DriveFolder]:
    """Live folders at and under ``prefix`` (``""``: the whole drive, its root included)."""
    stmt = select(DriveFolder).where(DriveFolder.account_id == account_id,
                                     DriveFolder.deleted_at.is_(None))
    if prefix:
        stmt = stmt.where(DriveFolder.path.startswith(prefix, autoescape=True))
    yield from session.scalars(stmt.order_by(DriveFolder.path))


def entries(session: Session, account_id: int, prefix: str = "") -> Iterator[Entry]:
    """Every live folder and file at and under ``prefix`` (the drive root's own row, the
    folder ``""``, is no entry; its files are)."""
    for folder in folders_under(session, account_id, prefix):
        if folder.path:
            yield folder_entry(folder)
        for row in folder.files:
            yield file_entry(folder, row)


def paths(session: Session, account_id: int, prefix: str = "") -> Iterator[str]:
    """The paths of :func:`entries`, read without building an entry for each file."""
    stmt = select(DriveFolder.path, DriveFolder.files).where(
        DriveFolder.account_id == account_id, DriveFolder.deleted_at.is_(None))
    if prefix:
        stmt = stmt.where(DriveFolder.path.startswith(prefix, autoescape=True))
    for path, files in session.execute(stmt.order_by(DriveFolder.path)):
        if path:
            yield path
        for row in files:
            yield path + row.name


def files_under(session: Session, account_id: int, prefix: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(DriveFolder.file_count), 0)).where(
        DriveFolder.account_id == account_id, DriveFolder.deleted_at.is_(None),
        DriveFolder.path.startswith(prefix, autoescape=True))) or 0)


def items_under(session: Session, account_id: int, prefix: str) -> int:
    """Files and folders at and under ``prefix``."""
    count, files = session.execute(select(
        func.count(), func.coalesce(func.sum(DriveFolder.file_count), 0)).where(
        DriveFolder.account_id == account_id, DriveFolder.deleted_at.is_(None),
        DriveFolder.path.startswith(prefix, autoescape=True))).one()
    return int(count or 0) + int(files or 0)


__all__ = ["Entry", "content_type", "entries", "file_entry", "files_under", "folder_entry",
           "folders_under", "items_under", "live_folder", "paths", "subfolders"]
