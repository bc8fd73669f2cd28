"""Opaque, stable cursors for keyset pagination (never OFFSET: pages stay stable as rows
are added)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from hub.errors import InvalidInput
from hub.schemas import ID_MAX, clean_text
from hub.timeutil import check_instant

T = TypeVar("T")

MAX_LIMIT = 200

#: What a cursor holds: each key and the type of its value. ``int`` is an Integer column's
#: value (0..ID_MAX), ``str`` a name or path, ``datetime`` an aware instant in ISO 8601.
CursorShape = Mapping[str, type]

_MALFORMED = ("the cursor is not one this server handed out; pass the 'next' value of the "
              "previous page unchanged, or leave it out to start from the top")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next: str | None


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: CursorShape, field: str = "before") -> dict[str, Any]:
    """The values of a cursor this server handed out, each of the type ``shape`` gives;
    anything else (edited, from another list, or made up) is a 422 on ``field``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(_MALFORMED, field=field) from exc
    if not isinstance(value, dict) or set(value) != set(shape):
        raise InvalidInput(_MALFORMED, field=field)
    try:
        return {key: _typed(value[key], kind) for key, kind in shape.items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_MALFORMED, field=field) from exc


def _typed(value: Any, kind: type) -> Any:
    if kind is int:
        if type(value) is not int or not 0 <= value <= ID_MAX:
            raise ValueError("not an id")
        return value
    if kind is bool:
        if type(value) is not bool:
            raise ValueError("not a bool")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("not text")
        clean_text(value, max_length=1000)  # checked, not normalised: names compare as stored
        return value
    if kind is datetime:
        if not isinstance(value, str):
            raise ValueError("not a time")
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError("a naive time")
        return check_instant(instant)
    raise LookupError(f"a cursor cannot hold {kind!r}")  # a mistake in the caller's shape


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
