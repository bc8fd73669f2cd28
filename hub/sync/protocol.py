"""The connector protocol (after Singer/Airbyte, committed the dlt way).

A connector reads one stream from its source and yields :class:`Item` records with a
:class:`Checkpoint` after each batch. A checkpoint covers every item yielded before it:
the runner stores those items and the checkpoint's cursor in one transaction, so a crash
between checkpoints replays work and never loses or duplicates it. A connector owns the
meaning of its cursor; the core only stores it.

Connectors import this module and their own client library - never the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Item:
    """One record from a source; (account, stream, external_id) is its upsert key."""

    stream: str
    external_id: str
    kind: str
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    #: True when the source says the record is gone (the hub keeps its copy, marked).
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Covers every item yielded before it in this stream."""

    stream: str
    cursor: Mapping[str, Any]


class CursorInvalidated(Exception):
    """The saved cursor no longer means anything at the source (IMAP UIDVALIDITY changed,
    Graph 410 Gone, Gmail 404 on historyId): the runner clears it and resyncs the stream."""

    def __init__(self, stream: str, reason: str) -> None:
        super().__init__(f"{stream}: {reason}")
        self.stream = stream
        self.reason = reason


class SourceError(Exception):
    """The source refused or failed; ``message`` says what the user should do."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@runtime_checkable
class Connector(Protocol):
    def streams(self) -> Iterable[str]: ...

    def check(self) -> None:
        """Raise :class:`SourceError` when the source cannot be reached or refuses us."""

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        """Yield items and checkpoints; ``cursor`` is the last committed checkpoint's."""
        ...


__all__ = ["Checkpoint", "Connector", "CursorInvalidated", "Item", "SourceError"]
