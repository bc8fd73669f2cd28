"""Tables for staff users, their API tokens, web sessions and refused sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased: addresses are matched case-insensitively everywhere.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: An argon2 hash (hub/staff/passwords.py); None: the user cannot sign in to the web
    #: view until an admin sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The language of the web view: "fi" or "en".
    locale: Mapped[str] = mapped_column(String(8), default="fi", server_default="fi")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A personal API token. Only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # The first characters, so that a person can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of the session id is kept; the id itself
    lives in the browser's cookie. It ends when idle too long (``last_seen_at``), at
    ``expires_at`` whatever happens, at sign-out, and when the user is deactivated."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The synchronizer token every form and htmx request of this session must send back.
    #: Not a credential by itself: it proves a request came from a page the hub served.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A refused sign-in, counted per email and per client address to slow guessing. In
    the database, so that every server process counts the same; pruned as it ages."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: As typed, normalised; whether or not such a user exists.
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
