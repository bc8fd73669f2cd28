"""What the hub keeps of a parsed message: its key, columns, references and people -
shared by the one-by-one and the set-based ingest."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from hub.timeutil import aware_time

ROLES = ("from", "to", "cc", "bcc", "reply_to")


def _addresses(parsed: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(role, address, name) for every participant."""
    out: list[tuple[str, str, str]] = []
    sender = parsed.get("sender")
    if sender and sender.get("address"):
        out.append(("from", sender["address"].lower(), sender.get("name", "")))
    for role in ROLES[1:]:
        for entry in parsed.get(role) or []:
            if entry.get("address"):
                out.append((role, entry["address"].lower(), entry.get("name", "")))
    return out


def sent_time(value: Any, fallback: datetime) -> datetime:
    return aware_time(value) or fallback


def message_columns(parsed: dict[str, Any]) -> dict[str, Any]:
    """A message's columns from the parser's output."""
    sender = parsed.get("sender") or {}
    return {
        "subject": parsed.get("subject") or "",
        "sender_name": (sender.get("name") or "")[:300],
        "sender_address": (sender.get("address") or "")[:320],
        "snippet": parsed.get("snippet") or "",
        "text": parsed.get("text") or "",
        "html": parsed.get("html") or "",
        "attachments": list(parsed.get("attachments") or []),
        "auto_submitted": bool(parsed.get("auto_submitted")),
        "parse_failed": bool(parsed.get("failed")),
        "problems": list(parsed.get("problems") or []),
        "headers": {
            "in_reply_to": parsed.get("in_reply_to") or [],
            "references": parsed.get("references") or [],
            "to": parsed.get("to") or [], "cc": parsed.get("cc") or [],
            "reply_to": parsed.get("reply_to") or [],
        },
    }


def message_key(parsed: dict[str, Any], sha256: str) -> str:
    """The Message-ID, or the digest of the raw bytes when there is none."""
    return (parsed.get("message_id") or "").strip() or f"sha256:{sha256}"


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def references(parsed: dict[str, Any]) -> list[str]:
    return [r for r in (parsed.get("references") or []) + (parsed.get("in_reply_to") or [])
            if r]


def unique_people(parsed: dict[str, Any]) -> list[tuple[str, str, str]]:
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
