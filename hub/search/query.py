"""A search as the index takes it: the words of what was typed, each a prefix, all of
them required; the same question for FTS5 and for PostgreSQL, and the same words marked
in what is shown.

A word is a run of letters and digits (as SQLite's ``unicode61`` tokenizer cuts text):
``matti.virtanen@yritys.fi`` is four words, ``1234567-8`` two. Case does not matter,
diacritics do (``a`` is not ``ä``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import JSONB

from hub.search.schema import CONFIG, FTS_TABLES

_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 8
MAX_TERM_LENGTH = 64
#: A query needs this many characters in one word at least: "a*" would match nearly all.
MIN_CHARS = 2


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True, slots=True)
class Query:
    """The terms of a search; every one must begin some word of what it finds."""

    terms: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Query:
        terms = list(dict.fromkeys(w[:MAX_TERM_LENGTH] for w in words(text)))[:MAX_TERMS]
        if not any(len(t) >= MIN_CHARS for t in terms):
            return cls(())
        return cls(tuple(terms))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def fts5(self, title: str | None = None) -> str:
        """The FTS5 query; ``title`` names the column it must match in, if only one."""
        expression = " ".join(f'"{t}"*' for t in self.terms)
        return f"{{{title}}} : ({expression})" if title else expression

    def tsquery(self, weights: str = "") -> str:
        """The ``to_tsquery`` text; ``weights`` (``A``) narrows it to the titles."""
        return " & ".join(f"'{t}':*{weights}" for t in self.terms)

    def found_in(self, text: str) -> bool:
        """Does ``text`` hold every term as the start of a word? How a hit shown only by
        its title is decided: the title itself must match, never the hidden text."""
        present = words(text)
        return all(any(w.startswith(t) for w in present) for t in self.terms)

    def marked(self, text: str, *, around: int = 12) -> list[tuple[str, bool]]:
        """A passage of ``text`` of some ``around`` words from just before its first
        match, as (piece, is a match) pieces: the template escapes them and marks the
        matches, so no markup from the data ever reaches a page."""
        found = list(_WORD.finditer(text))
        if not found:
            return [(_squeeze(text)[:200], False)] if text.strip() else []
        hit = {i for i, m in enumerate(found)
               if any(m.group().lower().startswith(t) for t in self.terms)}
        low = max(0, min(hit, default=0) - around // 3)
        high = min(len(found), low + around)
        at = found[low].start() if low else 0
        end = found[high - 1].end() if high < len(found) else len(text)
        pieces: list[tuple[str, bool]] = [("… ", False)] if low else []
        for i in sorted(hit):
            if low <= i < high:
                pieces += [(_squeeze(text[at:found[i].start()]), False),
                           (found[i].group(), True)]
                at = found[i].end()
        pieces.append((_squeeze(text[at:end]), False))
        if high < len(found):
            pieces.append((" …", False))
        return [(piece, is_hit) for piece, is_hit in pieces if piece]


def _squeeze(text: str) -> str:
    """Runs of white space (a mail's line breaks) as one space."""
    return re.sub(r"\s+", " ", text)


def matches(dialect: Dialect, source: str, id_column: ColumnElement[int], query: Query,
            *, title_only: bool = False) -> ColumnElement[bool]:
    """Rows of ``source`` (an FTS5 table's name, e.g. ``search_mail``; on PostgreSQL the
    table whose ``search_vector`` is asked) that match: SQLite's rowid is ``id_column``."""
    if dialect.name == "sqlite":
        fts = table(source, column("rowid"))
        title = FTS_TABLES[source][0][0] if title_only else None
        hits = select(fts.c.rowid).where(
            literal_column(source).op("MATCH")(bindparam(None, query.fts5(title))))
        return id_column.in_(hits)
    vector: ColumnElement[Any] = literal_column(f"{source}.search_vector")
    tsquery = func.to_tsquery(literal_column(f"'{CONFIG}'"),
                              bindparam(None, query.tsquery("A" if title_only else "")))
    return vector.op("@@")(tsquery)


def holds(dialect: Dialect, ids_column: Any, user_id: int) -> ColumnElement[bool]:
    """Does the JSON list of user ids ``ids_column`` (a source's owners) hold ``user_id``?"""
    if dialect.name == "sqlite":
        each = func.json_each(ids_column).table_valued("value")
        return exists(select(literal(1)).select_from(each).where(each.c.value == user_id))
    return cast(ids_column, JSONB).contains(cast(literal(json.dumps([user_id])), JSONB))


__all__ = ["Query", "holds", "matches", "words"]
