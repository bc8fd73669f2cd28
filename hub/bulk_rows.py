"""Set-based inserts: a batch of rows in one statement, with keys drawn beforehand so that
no RETURNING is needed (the mail and drive sinks, the source records)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, func, insert, select, text
from sqlalchemy.engine import Dialect

from hub.db import UTCDateTime


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Primary keys for ``count`` rows about to be inserted into ``table``, so that a batch
    INSERT needs no RETURNING: SQLite, asked to return new keys in the order of the rows
    given, inserts one row per statement, which was most of a batch's insert time.

    PostgreSQL draws them from the column's sequence. On SQLite they follow the largest
    key, which is safe only while no other connection can insert: a write that changes
    nothing first takes SQLite's write lock for the rest of the transaction."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                {"t": table.name}).scalar_one()
        return list(conn.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                 {"s": sequence, "n": count}).scalars())
    # The table's own name, never input: no onupdate defaults run for a row-less write.
    conn.execute(text(f"UPDATE {table.name} SET id = id WHERE 0"))  # noqa: S608
    start = conn.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(start + 1, start + 1 + count))


@dataclass(frozen=True)
class _Insert:
    sql: str
    names: list[str]
    positional: bool
    #: (position, converter) for the columns whose values need converting.
    steps: list[tuple[int, Callable[[Any], Any]]]
    #: Positions of the aware-time columns (one "now" fills many rows).
    dated: frozenset[int]
    #: Positions of the JSON columns (most hold [] or {}).
    jsons: frozenset[int]


_INSERTS: dict[tuple[str, str, tuple[str, ...]], _Insert] = {}


def _prepare_insert(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Insert:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    if set(names) != set(keys):
        raise ValueError(f"rows for {table.name} leave out {sorted(set(names) - set(keys))}"
                         f" and give {sorted(set(keys) - set(names))} to no column")
    steps: list[tuple[int, Callable[[Any], Any]]] = []
    for position, name in enumerate(names):
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            steps.append((position, convert))
    types = [table.c[name].type for name in names]
    return _Insert(compiled.string, names, compiled.positional, steps,
                   frozenset(i for i, t in enumerate(types) if isinstance(t, UTCDateTime)),
                   frozenset(i for i, t in enumerate(types) if isinstance(t, JSON)))


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows through the driver's executemany: the statement compiled once per
    table and set of columns, each column's bind processing (aware times to naive UTC,
    JSON) applied directly. SQLAlchemy's own executemany spent several times as long per
    row, which in a sync batch is most of the time. Every row gives the same keys, and
    these cover every column that has a default (none is filled in here)."""
    if not rows:
        return
    keys = tuple(rows[0])
    cache_key = (conn.dialect.name, table.name, keys)
    plan = _INSERTS.get(cache_key)
    if plan is None:
        plan = _INSERTS[cache_key] = _prepare_insert(conn.dialect, table, keys)
    values = itemgetter(*plan.names)
    steps = [(position, _cheap(convert, position in plan.dated, position in plan.jsons))
             for position, convert in plan.steps]
    params: list[Any] = []
    for row in rows:
        got = values(row)
        line = list(got) if len(plan.names) > 1 else [got]
        for position, convert in steps:
            line[position] = convert(line[position])
        params.append(tuple(line) if plan.positional else dict(zip(plan.names, line,
                                                                   strict=True)))
    conn.exec_driver_sql(plan.sql, params)


def _cheap(convert: Callable[[Any], Any], dated: bool,
           json: bool) -> Callable[[Any], Any]:
    """``convert`` with what repeats converted once: the same time object as the row
    before (a batch's "now"), an empty list or mapping."""
    if dated:
        last: list[Any] = [None, None]

        def once(value: Any) -> Any:
            if value is not last[0]:
                last[0], last[1] = value, convert(value)
            return last[1]

        return once
    if json:
        empty: dict[type, Any] = {list: convert([]), dict: convert({})}

        def light(value: Any) -> Any:
            return empty[type(value)] if not value and type(value) in empty else convert(value)

        return light
    return convert
