"""The answers kept for requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime


class RequestKey(Base):
    """The first answer to a user's request under one key, stored in the transaction that
    made the change, so that a retry (the answer was lost on the way) gets it again
    instead of writing twice. ``fingerprint`` tells a retry from another request that
    reuses the key."""

    __tablename__ = "request_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_request_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the method, the path with its query, and the body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
