"""The one ordering of access levels: ``none < metadata < subject < full``.

A level is what a reader may learn of a client's mail and files: ``full`` (the body),
``subject`` (no body), ``metadata`` (no subject, no body), ``none`` (nothing). Access
rules and mailbox share levels store it as its lower-case name; this module is the only
place that turns the name into an order, in Python (:meth:`Level.parse`) and in SQL
(:func:`level_rank`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from sqlalchemy import ColumnElement, case, literal


class Level(IntEnum):
    NONE = 0
    METADATA = 1
    SUBJECT = 2
    FULL = 3

    @classmethod
    def parse(cls, name: str) -> Level:
        """The level a stored name (``"full"``, ``"subject"``, ...) stands for."""
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


def widest_share(names: Iterable[str]) -> Level:
    """What a source held in several mailboxes or drives shares: the widest of their share
    levels (``full`` when nobody's holds it)."""
    return max((Level.parse(name) for name in names), default=Level.FULL)


def level_rank(column: Any) -> ColumnElement[Any]:
    """:meth:`Level.parse` in SQL: a stored level name as its rank (unknown names rank 0)."""
    ranked = [level for level in reversed(Level) if level > Level.NONE]
    return case(*((column == level.label, literal(int(level))) for level in ranked),
                else_=literal(0))


__all__ = ["Level", "level_rank", "widest_share"]
