"""The shape of a parsed mail message: what the mail parser gives and what filing consumes.

A mail connector yields a message's raw bytes; the parser it shares with the other mail
connectors turns them into a :class:`ParsedMail`, and the hub files that value. It lives
beside :mod:`hub.sync.protocol` because both sides need it: the connectors build it and
the hub reads it, and neither imports the other.

Parse worker processes send every value back to the filing, pickled. A frozen dataclass
pickles its fields one by one through Python code, several times slower than a dict of
the same data; each class here pickles as its constructor and one flat tuple instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    address: str  # lower-cased; "" when the header held no usable address

    def __reduce__(self) -> tuple[type[Address], tuple[str, str]]:
        return Address, (self.name, self.address)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str  # sanitised for display only; never used as a path
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    content_id: str = ""

    def __reduce__(self) -> tuple[type[Attachment], tuple[Any, ...]]:
        return Attachment, _ATTACHMENT(self)


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

    @classmethod
    def unparsed(cls, problem: str) -> ParsedMail:
        """What stands for a message nothing could be read of: kept raw, marked."""
        return cls(message_id="", in_reply_to=[], references=[], subject="", sender=None,
                   to=[], cc=[], bcc=[], reply_to=[], date=None, text="", snippet="",
                   html="", attachments=[], auto_submitted=False, problems=[problem],
                   failed=True)

    def __reduce__(self) -> tuple[type[ParsedMail], tuple[Any, ...]]:
        return ParsedMail, _PARSED_MAIL(self)


def _getter(cls: type) -> attrgetter[Any]:
    """Every field's value, in the constructor's order."""
    return attrgetter(*(f.name for f in fields(cls)))


_ATTACHMENT = _getter(Attachment)
_PARSED_MAIL = _getter(ParsedMail)

__all__ = ["Address", "Attachment", "ParsedMail"]
