"""The account table. Secrets are stored only as encryption envelopes (see hub.crypto)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow

ACCOUNT_KINDS = ("imap", "mail_archive", "graph", "gmail", "webdav", "local")
SHARE_LEVELS = ("full", "subject", "metadata")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # The database itself refuses a plaintext secret.
        CheckConstraint("secret IS NULL OR secret LIKE 'chv1:%'", name="secret_encrypted"),
        CheckConstraint("share_level IN ('full', 'subject', 'metadata')", name="share_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    #: Server settings (host, port, security, username, folders, size limit, since...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: How much colleagues see of this mailbox's mail; the owner may lower it.
    share_level: Mapped[str] = mapped_column(String(16), default="full")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
