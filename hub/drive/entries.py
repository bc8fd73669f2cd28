"""Drive activity in the client timeline, collapsed so that it stays readable.

Changes found by a sync
-----------------------
One ``file_activity`` entry per (client, drive account, folder, action, 10-minute window),
updated in place: a count and up to five sample names. 200 vouchers uploaded in a minute
are one entry, "200 files added to Kirjanpito/2026". Actions are ``added``, ``changed``,
``moved`` and ``removed``; a removed folder files everything below it under itself, so
deleting ``Kirjanpito/2025`` is one entry however deep it was.

The time of a change is when the hub saw it (one instant per sync batch), not the file's
modification time: a copied or synced file keeps its old mtime, and what a colleague needs
is when the change reached the client's folder. The entry keeps the range of the files'
own times in ``extra`` for whoever wants it. Windows are aligned to the clock (12:00,
12:10, ...), so a batch is never split; two batches either side of a boundary are two
entries.

The first index of a drive
--------------------------
The first sync of an account (no finished sync yet) finds years of files at once, none of
them news. A colleague covering for someone wants to know that the client's folder is
there and what was being worked on lately, not a thousand "file added" lines. So the
first index writes, per client root:

* one ``indexed`` entry, "Drive folder indexed: 1,234 files", counting as batches arrive;
* for files modified in the :data:`RECENT_DAYS` before the index, one ``modified`` entry
  per (folder, day of modification) at that day's latest modification: "4 files last
  modified in Kirjanpito/2026 on 2026-11-12" - the recent work, in the order it happened.

Older files are only counted. A folder mapped to a client later (by an admin or when a
new client matches it) gets the same ``indexed`` entry; when a mapping moves from one
client to another, the folder's drive entries move with it, and when it is cleared they
are removed - they were the folder's, not the client's.

Every entry carries the account owner (who sees it in full) and the account's share
level; its ``extra`` holds ``action``, ``count``, ``folder`` (relative to the client
root), ``names`` and the account ``path``. Readers at the ``metadata`` level see only
the action, count and time (see :mod:`hub.timeline.service`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.drive.activity import Activity, ActivityBuffer, pair_moves
from hub.drive.index import files_under
from hub.drive.listing import name_of, parent_of
from hub.sync.models import SyncRun
from hub.timeline.models import TimelineEntry
from hub.timeutil import in_firm_zone

WINDOW = timedelta(minutes=10)
RECENT_DAYS = 14
SAMPLES = 5
SOURCE_KIND = "drive"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_VERBS = {"added": "added to", "changed": "changed in", "moved": "moved to",
          "removed": "removed from"}


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _window(now: datetime) -> datetime:
    """The start of the clock-aligned window ``now`` falls in."""
    return now - (now - _EPOCH) % WINDOW


def _files(count: int) -> str:
    return f"{count:,} file" + ("" if count == 1 else "s")


def shown_folder(path: str, root: str | None) -> str:
    """The folder as the client's people know it: relative to the client root."""
    inside = path[len(root):] if root and path.startswith(root) else path
    return inside.rstrip("/")


@dataclass(slots=True)
class _Group:
    """The changes that go into one entry."""

    account_id: int
    client_id: int
    source_ref: str
    action: str
    path: str
    root: str | None
    when: datetime
    count: int = 0
    names: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    day: str | None = None

    def add(self, activity: Activity, delta: int = 1) -> None:
        self.count += delta * activity.count
        if delta > 0 and len(self.names) < SAMPLES:
            labels = activity.names or (_label(activity, self.root),)
            self.names += labels[:SAMPLES - len(self.names)]
        if activity.modified is not None:
            self.first = min(self.first or activity.modified,
                             activity.earliest or activity.modified)
            self.last = max(self.last or activity.modified, activity.modified)


def _label(activity: Activity, root: str | None) -> str:
    old = activity.moved_from
    if not old:
        return activity.name
    if parent_of(old) == parent_of(activity.path):
        return f"{activity.name} (renamed from {name_of(old)})"
    return f"{activity.name} (from {shown_folder(parent_of(old), root) or 'the client folder'})"


def indexed_before(session: Session, account_id: int) -> bool:
    """Has a sync of the account ever finished? Until then every file found is old news."""
    return bool(session.scalar(select(exists().where(
        SyncRun.account_id == account_id, SyncRun.finished_at.is_not(None),
        SyncRun.status.in_(("ok", "resynced"))))))


def first_index(session: Session, found: ActivityBuffer, account_id: int) -> bool:
    """Is the account's first index under way? Asked once per transaction (a sync's
    batch) and account, and kept in the transaction's buffer."""
    if account_id not in found.initial:
        found.initial[account_id] = not indexed_before(session, account_id)
    return found.initial[account_id]


def _groups(session: Session, found: ActivityBuffer) -> dict[tuple[int, str], _Group]:
    groups: dict[tuple[int, str], _Group] = {}
    start = _window(found.now)
    recent = found.now - timedelta(days=RECENT_DAYS)

    def group(activity: Activity, kind: str, path: str, ref: str, when: datetime,
              day: str | None = None) -> _Group:
        assert activity.client_id is not None
        key = (activity.client_id, ref)
        if key not in groups:
            groups[key] = _Group(activity.account_id, activity.client_id, ref, kind, path,
                                 activity.root, when, day=day)
        return groups[key]

    for activity in pair_moves(found.activities):
        if activity.client_id is None:
            continue  # a folder no client's root is under: the review list shows it
        account = activity.account_id
        if not first_index(session, found, account):
            ref = (f"drive:{account}:{activity.action}:{start:%Y%m%dT%H%M}:"
                   f"{_digest(activity.folder)}")
            group(activity, activity.action, activity.folder, ref, found.now).add(activity)
            continue
        if activity.action not in ("added", "removed"):
            continue
        root = activity.root or ""
        summary = group(activity, "indexed", root, f"drive:{account}:indexed:{_digest(root)}",
                        found.now)
        summary.add(activity, 1 if activity.action == "added" else -1)
        modified = activity.modified
        if (activity.action == "added" and activity.count == 1 and modified is not None
                and recent <= modified):
            local = in_firm_zone(modified)
            assert local is not None
            day = local.date().isoformat()
            ref = f"drive:{account}:modified:{day}:{_digest(activity.folder)}"
            worked = group(activity, "modified", activity.folder, ref, modified, day)
            worked.add(activity)
            worked.when = max(worked.when, modified)  # the day's latest change
    return groups


def write_entries(session: Session, found: ActivityBuffer) -> None:
    """A transaction's drive activity as timeline entries, written in that transaction
    (the sink's ``settle``, just before the runner commits the batch)."""
    groups = _groups(session, found)
    if not groups:
        return
    existing = _existing(session, groups)
    accounts: dict[int, Account | None] = {}
    for key, grp in groups.items():
        account = accounts.get(grp.account_id)
        if grp.account_id not in accounts:
            account = accounts[grp.account_id] = session.get(Account, grp.account_id)
        if account is None:
            continue
        entry = existing.get(key)
        if entry is None:
            if grp.count <= 0:
                continue
            entry = TimelineEntry(client_id=grp.client_id, kind="file_activity",
                                  source_kind=SOURCE_KIND, source_ref=grp.source_ref,
                                  occurred_at=grp.when, extra={})
            session.add(entry)
        _fill(entry, grp, account)
    session.flush()


def _existing(session: Session, groups: dict[tuple[int, str], _Group]
              ) -> dict[tuple[int, str], TimelineEntry]:
    refs = sorted({ref for _, ref in groups})
    clients = sorted({client for client, _ in groups})
    found: dict[tuple[int, str], TimelineEntry] = {}
    for start in range(0, len(refs), 500):
        for entry in session.scalars(select(TimelineEntry).where(
                TimelineEntry.source_kind == SOURCE_KIND,
                TimelineEntry.client_id.in_(clients),
                TimelineEntry.source_ref.in_(refs[start:start + 500]))):
            found[(entry.client_id, entry.source_ref)] = entry
    return found


def _fill(entry: TimelineEntry, grp: _Group, account: Account) -> None:
    extra: dict[str, Any] = dict(entry.extra or {})
    count = int(extra.get("count", 0)) + grp.count
    names = list(extra.get("names", []))
    names += [n for n in grp.names if n not in names][: max(0, SAMPLES - len(names))]
    first = min(filter(None, (_parse(extra.get("modified_first")), grp.first)), default=None)
    last = max(filter(None, (_parse(extra.get("modified_last")), grp.last)), default=None)
    folder = shown_folder(grp.path, grp.root)
    extra.update({
        "account_id": grp.account_id, "action": grp.action, "count": count,
        "folder": folder, "path": grp.path, "root": grp.root, "names": names,
        "modified_first": first.isoformat() if first else None,
        "modified_last": last.isoformat() if last else None,
    })
    if grp.day:
        extra["day"] = grp.day
    entry.extra = extra
    entry.title = _title(grp.action, count, folder, grp.day)[:500]
    entry.summary = ", ".join(names) + (f" and {count - len(names):,} more"
                                        if count > len(names) else "")
    if grp.action != "indexed":  # the index entry stays at the time indexing began
        entry.occurred_at = max(entry.occurred_at or grp.when, grp.when)
    entry.owner_user_id = account.owner_user_id
    entry.owner_ids = [account.owner_user_id]
    entry.share_level = account.share_level


def _title(action: str, count: int, folder: str, day: str | None) -> str:
    where = folder or "the client folder"
    if action == "indexed":
        return f"Drive folder indexed: {_files(count)}"
    if action == "modified":
        return f"{_files(count)} last modified in {where} on {day}"
    return f"{_files(count)} {_VERBS.get(action, action)} {where}"


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


# --- when a folder changes hands -------------------------------------------------------


def _under(entries: Iterable[TimelineEntry], root: str) -> list[TimelineEntry]:
    return [e for e in entries if str((e.extra or {}).get("path", "")).startswith(root)]


def refile(session: Session, account: Account, root: str, old: int | None,
           new: int | None, now: datetime) -> None:
    """The folder ``root`` now belongs to ``new`` instead of ``old``: its drive entries
    follow it, or go when it is nobody's; the new client is told what the folder holds."""
    if old == new:
        return
    prefix = f"drive:{account.id}:"
    moved: list[TimelineEntry] = []
    if old is not None:
        moved = _under(session.scalars(select(TimelineEntry).where(
            TimelineEntry.source_kind == SOURCE_KIND, TimelineEntry.client_id == old,
            TimelineEntry.source_ref.startswith(prefix, autoescape=True))), root)
    if new is None:
        for entry in moved:
            session.delete(entry)
        session.flush()
        return
    taken = {e.source_ref: e for e in session.scalars(select(TimelineEntry).where(
        TimelineEntry.source_kind == SOURCE_KIND, TimelineEntry.client_id == new,
        TimelineEntry.source_ref.in_([e.source_ref for e in moved])))} if moved else {}
    for entry in moved:
        twin = taken.get(entry.source_ref)
        if twin is None:
            twin, extra = entry, dict(entry.extra or {})
            entry.client_id = new
        else:
            extra = dict(twin.extra or {})
            extra["count"] = int(extra.get("count", 0)) + int(entry.extra.get("count", 0))
            session.delete(entry)
        # Shown relative to the root it is now under, which may be a deeper one.
        extra |= {"root": root, "folder": shown_folder(str(extra.get("path", "")), root)}
        twin.extra = extra
        twin.title = _title(str(extra.get("action", "")), int(extra.get("count", 0)),
                            extra["folder"], extra.get("day"))[:500]
    session.flush()
    _announce(session, account, root, new, now)


def _announce(session: Session, account: Account, root: str, client_id: int,
              now: datetime) -> None:
    count = files_under(session, account.id, root)
    if count == 0:
        return
    ref = f"drive:{account.id}:indexed:{_digest(root)}"
    entry = session.scalar(select(TimelineEntry).where(
        TimelineEntry.source_kind == SOURCE_KIND, TimelineEntry.client_id == client_id,
        TimelineEntry.source_ref == ref))
    if entry is None:
        entry = TimelineEntry(client_id=client_id, kind="file_activity",
                              source_kind=SOURCE_KIND, source_ref=ref, occurred_at=now,
                              extra={})
        session.add(entry)
    entry.extra = {}
    grp = _Group(account.id, client_id, ref, "indexed", root, root, now, count=count)
    _fill(entry, grp, account)
    session.flush()


def reshare(session: Session, account: Account) -> None:
    """The owner changed how much colleagues see of the drive: so do its past entries."""
    session.execute(update(TimelineEntry).where(
        TimelineEntry.source_kind == SOURCE_KIND,
        TimelineEntry.source_ref.startswith(f"drive:{account.id}:", autoescape=True))
        .values(share_level=account.share_level, owner_user_id=account.owner_user_id,
                owner_ids=[account.owner_user_id]).execution_options(
        synchronize_session="fetch"))
