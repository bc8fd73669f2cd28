"""The mail parser's limits, and the shape of a parsed message it gives.

The shape (:class:`ParsedMail` with its :class:`Address` and :class:`Attachment` parts)
lives in :mod:`hub.sync.parsed_mail`, where the hub that files it sees it too; it is
re-exported here for the parser and its users.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.sync.parsed_mail import Address, Attachment, ParsedMail


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


__all__ = ["Address", "Attachment", "Limits", "ParsedMail"]
