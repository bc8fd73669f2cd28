"""API shapes for messages, threads and the review queue; fields hidden by level stay None."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hub.schemas import Id, In, Instant, Out


class MessageOut(Out):
    """``metadata``: participants and date; ``subject``: + subject; ``full``: + text,
    sanitised HTML and attachment metadata."""

    id: int
    thread_id: int
    level: str
    sent_at: Instant
    participants: list[dict[str, str]]
    client_ids: list[int]
    source_gone: bool
    headers_only: bool
    parse_failed: bool
    subject: str | None = None
    snippet: str | None = None
    text: str | None = None
    html: str | None = None
    attachments: list[dict[str, Any]] | None = None
    automated: bool | None = None


class ThreadOut(Out):
    id: int
    is_private: bool
    messages: list[MessageOut]


class LinkIn(In):
    client_id: Id
    add_contact: bool = Field(
        default=False, description="Also add the sender as a contact of the client"
    )


class PrivacyIn(In):
    private: bool
    visible_to: list[Id] = Field(default_factory=list, max_length=1000,
                                 description="Ids of active users who may still see "
                                 "the thread, each once")


class ReviewItemOut(Out):
    message_id: int
    sent_at: Instant
    subject: str
    sender_address: str
    sender_name: str
    snippet: str
    automated: bool
