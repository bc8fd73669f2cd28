"""Tables for clients, contacts, client groups, special groups, roles and responsibilities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow

CLIENT_STATUSES = ("prospect", "active", "archived")

client_special_groups = Table(
    "client_special_groups",
    Base.metadata,
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "special_group_id", ForeignKey("special_groups.id", ondelete="CASCADE"), primary_key=True
    ),
)


class ClientGroup(Base):
    """Asiakasryhmä: each client is in at most one; numbers count up from its start."""

    __tablename__ = "client_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    starting_customer_number: Mapped[int] = mapped_column(Integer, default=1000)


class SpecialGroup(Base):
    """Erikoisryhmä: a free label, many-to-many with clients."""

    __tablename__ = "special_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("status IN ('prospect', 'active', 'archived')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # Case-folded name for search: SQLite's lower() folds ASCII only, not Ä or Ö.
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    business_id: Mapped[str | None] = mapped_column(String(9), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_groups.id", ondelete="SET NULL"), nullable=True, index=True
    )
    customer_number: Mapped[int] = mapped_column(Integer, unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    group: Mapped[ClientGroup | None] = relationship()
    special_groups: Mapped[list[SpecialGroup]] = relationship(secondary=client_special_groups)
    domains: Mapped[list[ClientDomain]] = relationship(
        cascade="all, delete-orphan", order_by="ClientDomain.domain"
    )
    contacts: Mapped[list[Contact]] = relationship(
        cascade="all, delete-orphan", order_by="Contact.id"
    )


class ClientDomain(Base):
    """A mail domain that belongs to the client (never a free-mail domain)."""

    __tablename__ = "client_domains"
    __table_args__ = (UniqueConstraint("client_id", "domain"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253), index=True)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[str] = mapped_column(String(200), default="")

    emails: Mapped[list[ContactEmail]] = relationship(
        cascade="all, delete-orphan", order_by="ContactEmail.id"
    )


class ContactEmail(Base):
    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("contact_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # Lower-cased; indexed because mail matching looks addresses up here.
    email: Mapped[str] = mapped_column(String(320), index=True)


class Role(Base):
    """A responsibility role (asiakasvastaava, kirjanpitäjä, ...), editable by admins."""

    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_fi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class Responsibility(Base):
    """(user, client, role) over a validity period; start inclusive, end exclusive."""

    __tablename__ = "responsibilities"
    __table_args__ = (
        Index("ix_responsibilities_client_user", "client_id", "user_id"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from",
            name="period",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(ForeignKey("roles.key", onupdate="CASCADE"))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
