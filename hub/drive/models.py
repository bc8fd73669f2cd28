"""Tables for the drive index and for which folder is which client's root."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow
from hub.drive.listing import FileRow, stored_row


class FileRows(TypeDecorator[list[FileRow]]):
    """A folder's files: :class:`FileRow` values in Python, a JSON list of arrays in the
    database (the fields in order, trailing nulls left out)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Sequence[Sequence[Any]] | None,
                           dialect: Dialect) -> list[list[Any]] | None:
        return None if value is None else [stored_row(row) for row in value]

    def process_result_value(self, value: list[list[Any]] | None,
                             dialect: Dialect) -> list[FileRow]:
        return [FileRow(*row) for row in value or ()]


class DriveFolder(Base):
    """One folder of a drive account, with the files directly in it, as last listed;
    ``deleted_at`` once it is gone.

    The index keeps one row per folder, not per file: a drive is read folder by folder
    (a directory listing, a PROPFIND), and a folder's files are read, compared and
    written together, so a 100,000-file drive is some 5,000 rows to write. ``path`` is
    relative to the drive root, POSIX style, ending in ``/`` (the drive root itself is
    ``""``); ``parent`` is the folder holding it. ``files`` holds one array per file,
    in name order: ``[name, size, mtime, stable_id, etag, content_type, modified_by]``,
    trailing nulls left out - ``mtime`` in microseconds since 1970, ``stable_id`` the
    source's identity of the file that survives a rename (``inode:<n>``, ``file_id:<id>``)
    - see :mod:`hub.drive.listing`.
    """

    __tablename__ = "drive_folders"
    __table_args__ = (
        UniqueConstraint("account_id", "path"),
        # A folder's subfolders, and the clients-level folders of a drive.
        Index("ix_drive_folders_children", "account_id", "parent"),
        Index("ix_drive_folders_client_path", "client_id", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(500))
    parent: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), nullable=True
    )
    files: Mapped[list[FileRow]] = mapped_column(FileRows, default=list)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    file_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Its own listing has been read (a folder first seen in its parent's is not yet).
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    modified: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stable_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientRoot(Base):
    """A folder of a drive account that is one client's root folder.

    ``origin`` ``auto`` rows come from matching folder names to clients and are recalculated
    freely; ``manual`` rows are an admin's decision and no recalculation touches them. A
    manual row without a client is a cleared mapping: the folder is nobody's root, and
    automatic matching must not map it again.
    """

    __tablename__ = "client_roots"
    __table_args__ = (
        UniqueConstraint("account_id", "path"),
        CheckConstraint("origin IN ('auto', 'manual')", name="origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), nullable=True, index=True
    )
    origin: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
