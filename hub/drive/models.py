"""Tables for the drive index and for which folder is which client's root."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow


class DriveItem(Base):
    """One file or folder of a drive account, as last seen; ``deleted_at`` once it is gone.

    ``path`` is the connector's external id: relative to the drive root, POSIX style,
    folders ending in ``/``; ``parent`` is the folder holding it (``""`` at the top).
    """

    __tablename__ = "drive_items"
    __table_args__ = (
        UniqueConstraint("account_id", "path"),
        # Browsing a folder (folders first, by name) and the listing sweep.
        Index("ix_drive_items_children", "account_id", "parent", "is_folder", "name"),
        Index("ix_drive_items_client_path", "client_id", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(500))
    parent: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(300))
    is_folder: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    modified: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Who last changed it, where the source says so (Graph and Google Drive do).
    modified_by: Mapped[str | None] = mapped_column(String(300), nullable=True)
    #: The source's own identity of the entry, which survives a rename: ``inode:<n>``
    #: (local folders) or ``file_id:<id>`` (Nextcloud). It tells a move from a delete
    #: followed by an unrelated new file.
    stable_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), nullable=True
    )
    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
