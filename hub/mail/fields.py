"""What the hub keeps of a parsed message: its key, columns, references and people -
shared by the one-by-one and the set-based ingest."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from hub.sync.parsed_mail import Address, Attachment, ParsedMail


def _addresses(parsed: ParsedMail) -> list[tuple[str, str, str]]:
    """(role, address, name) for every participant."""
    out: list[tuple[str, str, str]] = []
    sender = parsed.sender
    if sender and sender.address:
        out.append(("from", sender.address.lower(), sender.name))
    for role, entries in (("to", parsed.to), ("cc", parsed.cc), ("bcc", parsed.bcc),
                          ("reply_to", parsed.reply_to)):
        for entry in entries:
            if entry.address:
                out.append((role, entry.address.lower(), entry.name))
    return out


def sent_time(parsed: ParsedMail, fallback: datetime) -> datetime:
    return parsed.date or fallback


def _people(addresses: list[Address]) -> list[dict[str, str]]:
    return [{"name": a.name, "address": a.address} for a in addresses]


def attachment_rows(attachments: list[Attachment]) -> list[dict[str, Any]]:
    """Attachments as the message's JSON column keeps them."""
    return [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256, "inline": a.inline, "content_id": a.content_id}
            for a in attachments]


def message_columns(parsed: ParsedMail) -> dict[str, Any]:
    """A message's columns from the parser's output."""
    sender = parsed.sender
    return {
        "subject": parsed.subject,
        "sender_name": (sender.name if sender else "")[:300],
        "sender_address": (sender.address if sender else "")[:320],
        "snippet": parsed.snippet,
        "text": parsed.text,
        "html": parsed.html,
        "attachments": attachment_rows(parsed.attachments),
        "auto_submitted": parsed.auto_submitted,
        "parse_failed": parsed.failed,
        "problems": list(parsed.problems),
        "headers": {
            "in_reply_to": list(parsed.in_reply_to),
            "references": list(parsed.references),
            "to": _people(parsed.to), "cc": _people(parsed.cc),
            "reply_to": _people(parsed.reply_to),
        },
    }


def message_key(parsed: ParsedMail, sha256: str) -> str:
    """The Message-ID, or the digest of the raw bytes when there is none."""
    return parsed.message_id.strip() or f"sha256:{sha256}"


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def references(parsed: ParsedMail) -> list[str]:
    return [r for r in (*parsed.references, *parsed.in_reply_to) if r]


def unique_people(parsed: ParsedMail) -> list[tuple[str, str, str]]:
    """(role, address, name) once per role and address, in header order."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, str]] = []
    for role, address, name in _addresses(parsed):
        if (role, address) not in seen:
            seen.add((role, address))
            out.append((role, address, name))
    return out


def folder_of(stream: str) -> str:
    """The mailbox folder a stream reads ("mail:Saapuneet" -> "Saapuneet"), or ""."""
    return stream.removeprefix("mail:") if stream.startswith("mail:") else ""
