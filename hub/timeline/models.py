"""The per-client timeline table and note mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow


class TimelineEntry(Base):
    """One event in a client's timeline.

    ``kind`` is ``note`` now; ``message``, ``file_activity`` and ``task`` use the same
    columns: ``source_kind``/``source_ref`` point at the source object, ``owner_user_id``
    is whose mailbox or drive it came from (the owner always sees it in full) and
    ``is_private`` narrows it to the owner and the users named in ``private_to``.
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (
        # "Newest first, page by cursor" for one client is a single index range scan.
        Index("ix_timeline_client_time", "client_id", "occurred_at", "id"),
        UniqueConstraint("client_id", "source_kind", "source_ref", name="uq_timeline_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    source_kind: Mapped[str] = mapped_column(String(32), default="note")
    source_ref: Mapped[str] = mapped_column(String(500))
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: Every staff member whose own mailbox or drive holds the source (they see it in full).
    owner_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    #: The most colleagues may see of it, from its mailboxes' share levels.
    share_level: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    private_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mentions: Mapped[list[Mention]] = relationship(cascade="all, delete-orphan")


class Mention(Base):
    """A colleague @mentioned in a note; ``notified_at`` is set when they are told."""

    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("entry_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("timeline_entries.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MyWorkVisit(Base):
    """When a user last looked at My work, and the newest timeline entry there was then:
    what their clients' timelines gained since is "what changed since I last looked".

    Entries are counted by id (ids only grow), so the question is a range scan from
    ``seen_entry_id`` whatever the size of the timeline; ``seen_at`` is what the page says.
    """

    __tablename__ = "my_work_visits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_entry_id: Mapped[int] = mapped_column(Integer, default=0)
