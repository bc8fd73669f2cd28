"""Shapes shared by every domain's schemas: times shown in the firm's zone, list pages, and
the bounded types every input field is built from.

Bad input is refused here, as a 422 naming the field, before it reaches a query: an id no
column can hold, text longer than its column or with characters a database refuses or a
reader is fooled by, a time that cannot be stored. ``tests/api/test_input_bounds.py`` fails
on any input field or parameter that is not one of these types.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    StrictInt,
)
from pydantic_core import PydanticCustomError, core_schema

from hub.timeutil import check_instant, in_firm_zone

T = TypeVar("T")

#: Ids are Integer columns, 32 bits on PostgreSQL: a larger number can name no row.
ID_MAX = 2**31 - 1

#: Free text stored in a Text column (notes, summaries, descriptions): plenty for prose,
#: and far from what would make a request or a row a burden.
LONG_TEXT = 100_000

#: Bidi embeddings, overrides and isolates: they reorder what a reader sees, so that a name
#: shows as another ("Oy Acme" read backwards). Refused everywhere.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Direction marks and line separators are at home in mixed-direction prose, not in a
#: one-line name, where they only make two names that look alike compare different.
_LINE_ONLY = frozenset("\u200e\u200f\u061c\u2028\u2029")


def _problem(text: str, multiline: bool) -> str | None:
    """Why ``text`` cannot be stored or shown as typed, or None when it can."""
    for char in text:
        code = ord(char)
        if multiline and char in "\t\n\r":
            continue
        if char in "\t\n\r":
            return f"contains a line break or tab (U+{code:04X}); give it on one line"
        if code < 0x20 or 0x7F <= code < 0xA0:
            return f"contains a control character (U+{code:04X}); remove it"
        if char in _BIDI_CONTROLS:
            return (f"contains a text direction control (U+{code:04X}) that makes it show "
                    "differently from what it says; remove it")
        if not multiline and char in _LINE_ONLY:
            return f"contains an invisible direction mark or separator (U+{code:04X}); remove it"
        if 0xD800 <= code <= 0xDFFF:
            return f"contains a lone surrogate (U+{code:04X}), which is not text; remove it"
    return None


def clean_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """``value`` in NFC, or ValueError saying what is wrong with it (for callers outside
    pydantic, e.g. cursors)."""
    text = unicodedata.normalize("NFC", value)
    problem = _problem(text, multiline)
    if problem is not None:
        raise ValueError(problem)
    if len(text.strip()) > max_length:
        raise ValueError(f"is longer than {max_length} characters; shorten it")
    return text


@dataclass(frozen=True, slots=True)
class _CleanText:
    max_length: int
    multiline: bool

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(value: Any) -> Any:
            if not isinstance(value, str):
                return value  # the string schema says what is wrong with it
            try:
                return clean_text(value, max_length=self.max_length, multiline=self.multiline)
            except ValueError as exc:
                raise PydanticCustomError("text_refused", "the text {why}",
                                          {"why": str(exc)}) from None

        return core_schema.no_info_before_validator_function(check, handler(source))


@dataclass(frozen=True, slots=True)
class Text(annotated_types.GroupedMetadata):
    """Text input: NFC, no control characters (tab and line breaks only where
    ``multiline``), no bidi controls, at most ``max_length`` characters - the column's
    length, or LONG_TEXT for a Text column. Use as ``Annotated[str, Text(200)]``."""

    max_length: int
    min_length: int = 0
    multiline: bool = False

    def __iter__(self) -> Any:
        if self.min_length:
            yield annotated_types.MinLen(self.min_length)
        yield annotated_types.MaxLen(self.max_length)
        yield _CleanText(self.max_length, self.multiline)


#: An id in a request body: a JSON integer (not a bool, a float or a string) a row can have.
Id = Annotated[StrictInt, Field(ge=1, le=ID_MAX)]
#: An id in a path or query string (text on the wire), bounded the same way.
IdParam = Annotated[int, Field(ge=1, le=ID_MAX)]
#: A page cursor (the ``next`` of the previous page); hub.paging checks what it holds.
Cursor = Annotated[str, Text(8000)]
#: A key, role, action, kind, scope or kept audit head named in a path or query.
Word = Annotated[str, Text(100)]
#: What a person searches for.
Search = Annotated[str, Text(300)]
#: A folder below a client's root, as in the drive index's path column.
FolderPath = Annotated[str, Text(500)]
#: A number kept in an Integer column that people choose (customer numbers).
Number = Annotated[StrictInt, Field(ge=1, le=ID_MAX)]


def _storable(value: datetime) -> datetime:
    try:
        return check_instant(value)
    except ValueError as exc:
        raise PydanticCustomError("time_refused", "{why}", {"why": str(exc)}) from None


#: A time given in a request: a naive one is wall-clock time in the firm's zone (see
#: hub.timeutil.to_instant); either way it must fall in the years the hub stores.
Moment = Annotated[datetime, AfterValidator(_storable)]


def _show(value: datetime | None) -> str | None:
    shown = in_firm_zone(value)
    return None if shown is None else shown.isoformat()


#: An aware instant, written out in ISO 8601 in the firm's time zone.
Instant = Annotated[datetime, PlainSerializer(_show, return_type=str | None)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListPage(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None
