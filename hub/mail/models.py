"""Tables for messages, their raw bytes, mailbox copies, threads, participants and links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow


class MailRaw(Base):
    """A message's bytes as a mailbox gave them, apart from the message so that lists
    never load them. Stored by the fetch, before anything parses them: a message whose
    parse fails, or whose filing waits, is never lost."""

    __tablename__ = "mail_raw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class MailInbound(Base):
    """A mailbox copy fetched but not yet filed: the queue between a sync's fetch and the
    filing that parses, threads and matches it (:mod:`hub.mail.filing`). A copy whose
    filing failed stays here with ``error`` set, counted, and is tried again next run."""

    __tablename__ = "mail_inbound"
    __table_args__ = (Index("ix_mail_inbound_account", "account_id", "source_record_id"),)

    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    raw_id: Mapped[int] = mapped_column(ForeignKey("mail_raw.id", ondelete="CASCADE"))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    headers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailThread(Base):
    __tablename__ = "mail_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(300), index=True)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who marked it private (a mailbox owner) and whom they named.
    private_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    private_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailThreadKey(Base):
    """Every Message-ID a thread holds or refers to, so replies that arrive before their
    parent, or from another colleague's mailbox, still find the thread."""

    __tablename__ = "mail_thread_keys"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("mail_threads.id", ondelete="CASCADE"), index=True
    )


class MailMessage(Base):
    """One message, however many mailboxes hold a copy of it."""

    __tablename__ = "mail_messages"
    __table_args__ = (Index("ix_mail_messages_thread_sent", "thread_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The Message-ID, or "sha256:<digest of the raw bytes>" when the message has none.
    message_key: Mapped[str] = mapped_column(String(500), unique=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("mail_threads.id"))
    #: The bytes of the first full copy filed (of a headers-only copy until one comes).
    raw_id: Mapped[int] = mapped_column(ForeignKey("mail_raw.id"), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    sender_address: Mapped[str] = mapped_column(String(320), default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    snippet: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    headers_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The parser gave up: only the raw bytes are trustworthy.
    parse_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: True when every participant is internal: not client mail.
    internal_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailCopy(Base):
    """A copy of a message in one mailbox folder; ``deleted_at`` when the source lost it."""

    __tablename__ = "mail_copies"
    __table_args__ = (UniqueConstraint("source_record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    source_record_id: Mapped[int] = mapped_column(
        ForeignKey("source_records.id", ondelete="CASCADE")
    )
    folder: Mapped[str] = mapped_column(String(300))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MailParticipant(Base):
    __tablename__ = "mail_participants"
    __table_args__ = (UniqueConstraint("message_id", "address", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), index=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(8))  # from | to | cc | bcc | reply_to


class MessageClientLink(Base):
    """A message belongs to a client. ``origin`` manual links and manual unlinks
    (``removed``) are a person's decision: automatic matching never changes them."""

    __tablename__ = "message_client_links"
    __table_args__ = (
        UniqueConstraint("message_id", "client_id"),
        CheckConstraint("origin IN ('contact', 'domain', 'manual')", name="origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[str] = mapped_column(String(16))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
