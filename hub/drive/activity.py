"""What happened in a drive during one transaction, gathered before it becomes timeline.

The sink notes every file it finds added, changed or removed as an :class:`Activity` in
the buffer of the transaction it writes in (:class:`hub.drive.sink.DriveSink` keeps one
per session). The runner asks the sink to settle just before the batch commits, and
:mod:`hub.drive.entries` turns the buffer into timeline entries then, in the same
transaction, because only then is everything a batch did known:

* a move shows as a file gone from one folder's listing and a new one in another's (or,
  from a source that reports single entries, a delete and an add, in either order); the
  two are paired by the source's identity of the file (the inode, or Nextcloud's file
  id) when both are in the same transaction's buffer - a move split across two
  checkpoints stays a removal and an addition;
* the careful and the set-based paths of the runner run the same sink code and fill the
  same buffer, so they write the same entries.

A rolled-back transaction's buffer is discarded with everything it did. The sink adds an
item's activity only after the item's writes succeeded, and takes it back when the item
fails, so a savepoint that rolls back an item leaves nothing of it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Action = Literal["added", "changed", "moved", "removed"]


@dataclass(slots=True)
class Activity:
    """One file's change; ``folder`` is the account path the change is filed under."""

    account_id: int
    client_id: int | None
    root: str | None
    folder: str
    action: Action
    name: str
    path: str
    stable_id: str | None = None
    size: int | None = None
    modified: datetime | None = None
    #: Where a moved file came from (its old path).
    moved_from: str | None = None
    #: How many files this stands for: a first index notes a folder's older files as one
    #: activity (``names`` a few of them, ``earliest`` and ``modified`` their range).
    count: int = 1
    names: tuple[str, ...] = ()
    earliest: datetime | None = None


@dataclass(slots=True)
class ActivityBuffer:
    #: One instant for the whole transaction: a batch is never split across two windows.
    now: datetime
    activities: list[Activity] = field(default_factory=list)
    #: Per account: is the drive's first index under way (no sync of it has finished)?
    #: Asked once per transaction, as a run may finish before the next one.
    initial: dict[int, bool] = field(default_factory=dict)


def pair_moves(activities: list[Activity]) -> list[Activity]:
    """A removal and an addition of the same file (by the source's identity, same size)
    become one move when both are the same client's; otherwise they stay as they are,
    because each client's timeline tells its own half."""
    added: dict[tuple[int, str], list[int]] = {}
    for index, activity in enumerate(activities):
        if activity.action == "added" and activity.stable_id:
            added.setdefault((activity.account_id, activity.stable_id), []).append(index)
    used: set[int] = set()
    for index, activity in enumerate(activities):
        if activity.action != "removed" or not activity.stable_id:
            continue
        for candidate in added.get((activity.account_id, activity.stable_id), []):
            new = activities[candidate]
            if candidate in used or new.client_id != activity.client_id:
                continue
            if None not in (new.size, activity.size) and new.size != activity.size:
                continue  # an inode reused by an unrelated file
            used.update((index, candidate))
            new.action, new.moved_from = "moved", activity.path
            break
    return [a for i, a in enumerate(activities) if i not in used or a.action == "moved"]


__all__ = ["Action", "Activity", "ActivityBuffer", "pair_moves"]
