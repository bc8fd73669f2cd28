"""The one rule for what a reader sees of one entry, message or file of a client.

A source (a message, a drive's files) lives in its owners' mailboxes or drives. Its
owners always see it in full; a private thread shows to nobody else but the people they
named; everyone else sees it at their level on the client, capped by what the owners
share (the widest share level among the mailboxes holding it). The timeline (page and
single entry), the mail reads and the drive browse all ask :func:`entry_level`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from hub.access.levels import Level


def entry_level(client_level: Level, *, reader_id: int, owner_ids: Collection[int],
                share_level: Level | str | None, private_to: Collection[int] | None = None,
                ) -> Level:
    """The level ``reader_id`` sees a source at, given their level on the client.

    ``share_level`` is the owners' share level (a stored name or a level; missing is
    ``full``); ``private_to`` is ``None`` unless the source is private, then the users
    besides its owners who may see it.
    """
    if reader_id in owner_ids:
        return Level.FULL
    if private_to is not None and reader_id not in private_to:
        return Level.NONE
    share = (Level.parse(share_level or "full") if not isinstance(share_level, Level)
             else share_level)
    return min(client_level, share)


def stored_entry_level(entry: Any, client_level: Level, reader_id: int) -> Level:
    """:func:`entry_level` for a stored timeline entry (a model or a row of its columns
    ``owner_user_id``, ``owner_ids``, ``share_level``, ``is_private``, ``private_to``)."""
    owners = set(entry.owner_ids or [])
    if entry.owner_user_id is not None:
        owners.add(entry.owner_user_id)
    return entry_level(client_level, reader_id=reader_id, owner_ids=owners,
                       share_level=entry.share_level,
                       private_to=list(entry.private_to or []) if entry.is_private else None)


__all__ = ["entry_level", "stored_entry_level"]
