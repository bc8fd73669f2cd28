"""Source records in bulk: the runner's upsert key, read and written with SQLAlchemy Core.

A sync batch touches hundreds of records, and an ORM object per record cost more than
the work it stood for (a third of an initial mail sync went to creating, tracking and
flushing them). A :class:`Record` is a plain object instead: the runner reads a batch's
existing records with one SELECT per 500 keys, inserts the new ones with one executemany
INSERT (their ids reserved beforehand, :func:`hub.db.reserve_ids`), hands them to the
sinks, and at the end of the batch writes back what changed - one executemany UPDATE per
set of changed columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, select, update

from hub.db import insert_rows, reserve_ids
from hub.sync.models import SourceRecord
from hub.sync.protocol import Item

TABLE = cast(Table, SourceRecord.__table__)
_CHUNK = 500
#: The columns a runner or a sink may change on a record.
MUTABLE = ("kind", "occurred_at", "target_id", "deleted_at", "data")
_COLUMNS = (TABLE.c.id, TABLE.c.external_id, TABLE.c.kind, TABLE.c.occurred_at,
            TABLE.c.target_id, TABLE.c.deleted_at, TABLE.c.data)


class Stored(NamedTuple):
    """A record's mutable columns (:data:`MUTABLE`, in that order) as the database holds
    them."""

    kind: str
    occurred_at: datetime
    target_id: int | None
    deleted_at: datetime | None
    data: dict[str, Any]


@dataclass(slots=True, eq=False)
class Record:
    """One source record as the runner and the sinks see it. Change the fields freely;
    :func:`save` writes back what differs from the database."""

    id: int
    account_id: int
    stream: str
    external_id: str
    kind: str
    occurred_at: datetime
    target_id: int | None = None
    deleted_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: Inserted in this batch (nothing to stamp as seen: its insert did).
    fresh: bool = False
    #: The mutable columns as the database holds them (a record is built from its row).
    stored: Stored = field(init=False)

    def __post_init__(self) -> None:
        self.snapshot()

    def snapshot(self) -> None:
        self.stored = Stored(self.kind, self.occurred_at, self.target_id, self.deleted_at,
                             dict(self.data))

    def restore(self, stored: Stored) -> None:
        """Back to an earlier snapshot, as after the transaction that wrote it rolled back."""
        self.kind, self.occurred_at, self.target_id, self.deleted_at = stored[:4]
        self.data = dict(stored.data)
        self.stored = stored._replace(data=dict(stored.data))

    def changes(self) -> dict[str, Any]:
        now = (self.kind, self.occurred_at, self.target_id, self.deleted_at, self.data)
        return {name: value for name, value, before in zip(MUTABLE, now, self.stored,
                                                           strict=True) if value != before}


def _record(account_id: int, stream: str, row: Any) -> Record:
    record = Record(id=row.id, account_id=account_id, stream=stream,
                    external_id=row.external_id, kind=row.kind, occurred_at=row.occurred_at,
                    target_id=row.target_id, deleted_at=row.deleted_at,
                    data=dict(row.data or {}))
    record.snapshot()
    return record


def load(conn: Connection, account_id: int, stream: str,
         external_ids: Sequence[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for start in range(0, len(external_ids), _CHUNK):
        for row in conn.execute(select(*_COLUMNS).where(
                TABLE.c.account_id == account_id, TABLE.c.stream == stream,
                TABLE.c.external_id.in_(external_ids[start:start + _CHUNK]))):
            found[row.external_id] = _record(account_id, stream, row)
    return found


def where_stale(conn: Connection, account_id: int, stream: str,
                since: datetime) -> list[Record]:
    """Live records of a stream not seen since ``since``."""
    return [_record(account_id, stream, row) for row in conn.execute(select(*_COLUMNS).where(
        TABLE.c.account_id == account_id, TABLE.c.stream == stream,
        TABLE.c.deleted_at.is_(None), TABLE.c.updated_at < since))]


def for_batch(conn: Connection, account_id: int, stream: str, batch: Iterable[Item],
              now: datetime, initial: Callable[[Item], dict[str, Any]]) -> dict[str, Record]:
    """The batch's records: the stored ones, and new ones inserted for the rest, each with
    the ``initial`` data its sink keeps of the item (so that a first sync writes each
    record once)."""
    items = {item.external_id: item for item in batch}
    found = load(conn, account_id, stream, list(items))
    fresh = [(item, initial(item)) for key, item in items.items() if key not in found]
    if fresh:
        ids = reserve_ids(conn, TABLE, len(fresh))
        insert_rows(conn, TABLE, [
            {"id": record_id, "account_id": account_id, "stream": stream,
             "external_id": item.external_id, "kind": item.kind,
             "occurred_at": item.occurred_at, "target_id": None, "deleted_at": None,
             "data": data, "updated_at": now}
            for (item, data), record_id in zip(fresh, ids, strict=True)])
        for (item, data), record_id in zip(fresh, ids, strict=True):
            record = Record(id=record_id, account_id=account_id, stream=stream,
                            external_id=item.external_id, kind=item.kind,
                            occurred_at=item.occurred_at, data=data, fresh=True)
            record.snapshot()
            found[item.external_id] = record
    return found


def save(conn: Connection, records: Iterable[Record], *, seen: datetime | None = None) -> None:
    """Write back what changed; ``seen`` also stamps every record as seen at that time
    (what a re-read of a whole stream compares against)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in records:
        changed = record.changes()
        if seen is not None and (changed or not record.fresh):
            changed["updated_at"] = seen
        if not changed:
            continue
        groups.setdefault(tuple(sorted(changed)), []).append({"b_id": record.id, **changed})
        record.snapshot()
    for columns, params in groups.items():
        conn.execute(update(TABLE).where(TABLE.c.id == bindparam("b_id"))
                     .values({c: bindparam(c) for c in columns}), params)
