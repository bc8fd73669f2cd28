"""What a search finds: hits of five kinds, each with its client and where to open it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hub.schemas import Instant, Out

Kind = Literal["client", "contact", "message", "note", "file"]
#: The order the kinds are shown in.
KINDS: tuple[Kind, ...] = ("client", "contact", "message", "note", "file")


class Piece(Out):
    """A piece of the passage shown; ``match`` pieces are the words searched for."""

    text: str
    match: bool = False


class HitOut(Out):
    """One thing found. ``ref`` is the id of what was found (client, contact, timeline
    entry, message or drive folder); ``link`` is its page in the web view; ``title`` and
    ``passage`` hold only what the searcher's level shows of it: a ``subject`` reader is
    shown titles, found by their titles alone."""

    kind: Kind
    client_id: int
    client_name: str
    ref: int
    title: str
    passage: list[Piece]
    link: str
    occurred_at: Instant | None = None


class SearchOut(Out):
    query: str
    hits: list[HitOut]


def hit(kind: Kind, client: tuple[int, str], ref: int, title: str,
        passage: list[tuple[str, bool]], link: str,
        occurred_at: datetime | None = None) -> HitOut:
    return HitOut(kind=kind, client_id=client[0], client_name=client[1], ref=ref, title=title,
                  passage=[Piece(text=t, match=m) for t, m in passage], link=link,
                  occurred_at=occurred_at)


__all__ = ["KINDS", "HitOut", "Kind", "Piece", "SearchOut", "hit"]
