"""Tables for covers (sijaisuus), access rules and the append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clients.models import Client
from hub.db import Base, UTCDateTime, utcnow

cover_clients = Table(
    "cover_clients",
    Base.metadata,
    Column("cover_id", ForeignKey("covers.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
)


class Cover(Base):
    """B covers A over [valid_from, valid_until): B sees what A's responsibilities show A.

    With listed clients the cover is narrowed to those; without, it spans all of A's.
    """

    __tablename__ = "covers"
    __table_args__ = (
        CheckConstraint("valid_until > valid_from", name="period"),
        CheckConstraint("absent_user_id <> covering_user_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    absent_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    covering_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(500), default="")
    # Kept apart from the client list: if every named client is deleted, the cover must
    # show nothing rather than silently widen to all of the absent user's clients.
    narrowed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clients: Mapped[list[Client]] = relationship(secondary=cover_clients)


LEVELS = ("none", "metadata", "subject", "full")
RULE_SUBJECTS = ("role", "admin", "staff")


class AccessRule(Base):
    """Who sees which clients' timelines, at which level.

    subject ``role``: people holding a responsibility with ``role`` on the client (and
    their covers); ``admin``: admin users; ``staff``: every active user. The optional
    scope narrows the rule to a client group and/or a special group.
    """

    __tablename__ = "access_rules"
    __table_args__ = (
        CheckConstraint("level IN ('none', 'metadata', 'subject', 'full')", name="level"),
        CheckConstraint("subject IN ('role', 'admin', 'staff')", name="subject"),
        CheckConstraint(
            "(subject = 'role') = (role IS NOT NULL)", name="role_only_for_role_subject"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(
        ForeignKey("roles.key", ondelete="CASCADE", onupdate="CASCADE"), nullable=True
    )
    client_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_groups.id", ondelete="CASCADE"), nullable=True
    )
    special_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("special_groups.id", ondelete="CASCADE"), nullable=True
    )
    level: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One append-only audit row, chained to the previous one by an HMAC-SHA256 under the
    audit key ``key_id`` (rows written before the chain was keyed: plain SHA-256, no key)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No foreign keys: the trail must outlive the users and clients it speaks of.
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The column is "via": GRANT is a reserved word in SQL.
    grant: Mapped[str] = mapped_column("via", String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AuditHead(Base):
    """The newest audit row's hash. Locked on append, so concurrent writers cannot fork
    the chain, and compared on verify, so that deleting the newest rows is caught too.

    ``trail`` names this database's chain in the anchor file (random, set by the first
    keyed append) and is sealed into every keyed row, so it cannot be swapped."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_entry_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    trail: Mapped[str | None] = mapped_column(String(32), nullable=True)
