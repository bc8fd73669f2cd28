"""Opaque, stable cursors for keyset pagination (never OFFSET: pages stay stable as rows
are added)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hub.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next: str | None


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "before") -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "the cursor is not one this server handed out; pass the 'next' value of the "
            "previous page unchanged, or leave it out to start from the top",
            field=field,
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput("the cursor is malformed; start again without it", field=field)
    return value


def page_of(rows: list[T], size: int, mark: Callable[[T], dict[str, Any]]) -> Page[T]:
    """Cut a query's ``size + 1`` rows to a page; the extra row only says there is more."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(mark(rows[-1])) if more else None)


def clamp_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit
