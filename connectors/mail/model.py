"""The shape of a parsed message, shared by the IMAP, archive, Graph and Gmail connectors.

A connector yields ``Item(kind="message", data=MailData(...).as_item_data())``; the hub
stores ``raw`` as it came and the parsed fields beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Limits:
    """Checked on the raw bytes *before* the stdlib parser sees them, so that no message
    can make it slow (deep nesting, many parts, huge headers)."""

    max_total_bytes: int = 50 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    max_header_line_bytes: int = 64 * 1024
    max_parts: int = 1000
    max_depth: int = 30
    max_text_chars: int = 2_000_000


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    address: str  # lower-cased; "" when the header held no usable address


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # sanitised for display only; never used as a path
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str  # without angle brackets; "" when missing
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None  # From (the first one)
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    reply_to: list[Address]
    date: datetime | None  # aware; None when missing or unparsable
    text: str  # plain-text body (from text/plain, or derived from the HTML)
    snippet: str  # first ~200 chars of text, whitespace collapsed
    html: str  # sanitised with nh3; "" when the message has no HTML part
    attachments: list[Attachment]
    auto_submitted: bool  # Auto-Submitted / Precedence bulk / list mail
    #: Human-readable problems met while parsing (charset fallbacks, caps hit, ...).
    problems: list[str] = field(default_factory=list)
    #: True when the message could not be parsed at all: only the raw bytes are usable.
    failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every field, a fifth of the parse time
        # of a small message.
        def people(addresses: list[Address]) -> list[dict[str, str]]:
            return [{"name": a.name, "address": a.address} for a in addresses]

        return {
            "message_id": self.message_id, "in_reply_to": list(self.in_reply_to),
            "references": list(self.references), "subject": self.subject,
            "sender": people([self.sender])[0] if self.sender else None,
            "to": people(self.to), "cc": people(self.cc), "bcc": people(self.bcc),
            "reply_to": people(self.reply_to),
            "date": self.date.isoformat() if self.date else None,
            "text": self.text, "snippet": self.snippet, "html": self.html,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size,
                 "sha256": a.sha256, "inline": a.inline, "content_id": a.content_id}
                for a in self.attachments],
            "auto_submitted": self.auto_submitted, "problems": list(self.problems),
            "failed": self.failed,
        }
