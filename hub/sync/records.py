"""Source records in bulk: the runner's upsert key, read and written with SQLAlchemy Core.

A sync batch touches hundreds of records, and an ORM object per record cost more than
the work it stood for (a third of an initial mail sync went to creating, tracking and
flushing them). A :class:`Record` is a plain object instead: the runner reads a batch's
existing records with one SELECT per 500 keys, inserts the new ones with one executemany
INSERT (their ids reserved beforehand, :func:`hub.bulk_rows.reserve_ids`), hands them to the
sinks, and at the end of the batch writes back what changed - one executemany UPDATE per
set of changed columns, compiled once and handed to the driver as :func:`hub.bulk_rows.insert_rows`
does (SQLAlchemy's own executemany spent four times as long per row: a first sync's
filing updates every record it files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Dialect, Table, bindparam, select, update

from hub.bulk_rows import insert_rows, reserve_ids
from hub.db import utcnow
from hub.sync.models import SourceRecord
from hub.sync.protocol import Item

TABLE = cast(Table, SourceRecord.__table__)
_CHUNK = 500
#: The columns a runner or a sink may change on a record.
MUTABLE = ("kind", "occurred_at", "target_id", "deleted_at", "data")
_COLUMNS = (TABLE.c.id, TABLE.c.external_id, TABLE.c.kind, TABLE.c.occurred_at,
            TABLE.c.target_id, TABLE.c.deleted_at, TABLE.c.data)
# A bound list, expanded when the statement runs: building an IN of 500 literals anew for
# every chunk cost more than running it.
_LOAD = select(*_COLUMNS).where(
    TABLE.c.account_id == bindparam("account_id"), TABLE.c.stream == bindparam("stream"),
    TABLE.c.external_id.in_(bindparam("external_ids", expanding=True)))


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
        stored = self.stored
        if (self.target_id == stored.target_id and self.occurred_at == stored.occurred_at
                and self.deleted_at == stored.deleted_at and self.kind == stored.kind
                and self.data == stored.data):
            return {}  # most records of a batch: checked without building anything
        now = (self.kind, self.occurred_at, self.target_id, self.deleted_at, self.data)
        return {name: value for name, value, before in zip(MUTABLE, now, stored,
                                                           strict=True) if value != before}


def _record(account_id: int, stream: str, row: Any) -> Record:
    # The record takes its snapshot as it is made.
    return Record(id=row.id, account_id=account_id, stream=stream,
                  external_id=row.external_id, kind=row.kind, occurred_at=row.occurred_at,
                  target_id=row.target_id, deleted_at=row.deleted_at,
                  data=dict(row.data or {}))


def load(conn: Connection, account_id: int, stream: str,
         external_ids: Sequence[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for start in range(0, len(external_ids), _CHUNK):
        for row in conn.execute(_LOAD, {"account_id": account_id, "stream": stream,
                                        "external_ids": external_ids[start:start + _CHUNK]}):
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
            found[item.external_id] = Record(
                id=record_id, account_id=account_id, stream=stream,
                external_id=item.external_id, kind=item.kind, occurred_at=item.occurred_at,
                data=data, fresh=True)
    return found


def save(conn: Connection, records: Iterable[Record], *, seen: datetime | None = None) -> None:
    """Write back what changed; ``seen`` also stamps every record as seen at that time
    (what a re-read of a whole stream compares against). A changed record is stamped
    ``updated_at`` now when no ``seen`` is given, as the column's own default would."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for record in records:
        changed = record.changes()
        if seen is not None and (changed or not record.fresh):
            changed["updated_at"] = seen
        if not changed:
            continue
        groups.setdefault(tuple(sorted(changed)), []).append({"b_id": record.id, **changed})
        record.snapshot()
    if not groups:
        return
    now = utcnow()
    for columns, params in groups.items():
        if "updated_at" not in columns:
            columns = (*columns, "updated_at")
            for values in params:
                values["updated_at"] = now
        plan = _update_plan(conn.dialect, columns)
        conn.exec_driver_sql(plan.sql, [plan.bound(values) for values in params])


@dataclass(frozen=True)
class _Update:
    """One UPDATE of a set of columns by id, compiled for a dialect, with each value's
    conversion to what the driver takes (aware times to naive UTC, JSON to text)."""

    sql: str
    names: tuple[str, ...]
    positional: bool
    convert: tuple[Callable[[Any], Any] | None, ...]

    def bound(self, values: dict[str, Any]) -> Any:
        line = [value if convert is None else convert(value)
                for value, convert in zip(map(values.__getitem__, self.names), self.convert,
                                          strict=True)]
        return tuple(line) if self.positional else dict(zip(self.names, line, strict=True))


_UPDATES: dict[tuple[str, tuple[str, ...]], _Update] = {}


def _update_plan(dialect: Dialect, columns: tuple[str, ...]) -> _Update:
    plan = _UPDATES.get((dialect.name, columns))
    if plan is None:
        compiled = update(TABLE).where(TABLE.c.id == bindparam("b_id")).values(
            {c: bindparam(c) for c in columns}).compile(dialect=dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(
            compiled.binds)
        if set(names) != {"b_id", *columns}:  # an onupdate default would be left unset
            raise AssertionError(f"the UPDATE of {columns} binds {names}")
        convert = tuple(TABLE.c["id" if name == "b_id" else name].type.dialect_impl(
            dialect).bind_processor(dialect) for name in names)
        plan = _UPDATES[(dialect.name, columns)] = _Update(
            compiled.string, names, bool(compiled.positional), convert)
    return plan
