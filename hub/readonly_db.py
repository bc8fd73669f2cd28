"""A read-only look at the hub's database through its driver alone.

``clienthub status``, which a monitoring check may run every minute, answers in about
the time Typer takes to start; SQLAlchemy alone takes longer to load than that whole
answer. So it reads through the DB-API driver the URL names (sqlite3 for
``sqlite:///PATH``, psycopg for ``postgresql[+psycopg]://...``) in one read-only
transaction, once the schema is the one this code expects. Nothing here writes,
creates or migrates: a database that is missing or behind stays as it is, and the
error says what to run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hub.errors import ConfigurationError, DatabaseOutOfDate

#: How long opening the database, or waiting for a lock on it, may take (seconds).
TIMEOUT = 10
_WHERE = "CLIENTHUB_DATABASE_URL (or CLIENTHUB_DATA_DIR)"


class DatabaseUnavailable(ConfigurationError):
    """The database the settings name cannot be opened or read; the message says why and
    what to do."""


class ReadOnly:
    """One read-only transaction on the database; :meth:`fetch` runs a query in it."""

    def __init__(self, connection: Any, paramstyle: str, where: str) -> None:
        self.connection = connection
        #: The driver's placeholder style (DB-API ``paramstyle``): ``qmark`` or ``pyformat``.
        self.paramstyle = paramstyle
        self.where = where

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (in the driver's placeholder style)."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return [tuple(row) for row in cursor.fetchall()]
        except Exception as exc:
            explained = _explained(exc, self.where)
            if explained is exc:
                raise
            raise explained from exc
        finally:
            cursor.close()


@contextmanager
def read_only(url: str) -> Iterator[ReadOnly]:
    """The database at ``url`` for reading, its schema checked to be this code's."""
    scheme, _, rest = url.partition("://")
    dialect = scheme.split("+", 1)[0]
    if dialect == "sqlite":
        db = _sqlite(rest)
    elif dialect in ("postgresql", "postgres"):
        db = _postgres(f"postgresql://{rest}")
    else:
        raise DatabaseUnavailable(
            f"the database URL names {dialect or 'no kind of database'}, and Client Hub "
            f"keeps its data in SQLite or PostgreSQL; check {_WHERE}")
    try:
        _check_schema(db)
        yield db
    finally:
        db.connection.close()  # its transaction, which wrote nothing, is rolled back


def _sqlite(rest: str) -> ReadOnly:
    name = unquote(rest[1:].partition("?")[0]) if rest.startswith("/") else ""
    if name in ("", ":memory:"):
        raise DatabaseUnavailable(f"the database URL names no file; set {_WHERE}")
    path = Path(name).resolve()
    if not path.is_file():
        raise DatabaseUnavailable(
            f"there is no database at {path}; run 'clienthub init' to create it, or set "
            f"{_WHERE} to where the hub's database is")
    try:
        # mode=ro: a database that vanished meanwhile is not made anew, nothing is written.
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=TIMEOUT,
                                     isolation_level=None, check_same_thread=False)
        connection.execute("BEGIN")  # one snapshot for every query of the look
    except sqlite3.Error as exc:
        raise _explained(exc, str(path)) from exc
    return ReadOnly(connection, "qmark", str(path))


def _postgres(conninfo: str) -> ReadOnly:
    import psycopg  # only for a PostgreSQL database: it takes a tenth of a second to load

    try:
        connection = psycopg.connect(conninfo, connect_timeout=TIMEOUT)
        connection.read_only = True
        # One snapshot for every query of the look.
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    except psycopg.Error as exc:
        raise _explained(exc, "the PostgreSQL server") from exc
    return ReadOnly(connection, "pyformat", "the PostgreSQL database")


def _check_schema(db: ReadOnly) -> None:
    from hub.schema import head_from_files

    try:
        stored = [row[0] for row in db.fetch("SELECT version_num FROM alembic_version")]
    except DatabaseOutOfDate:
        raise DatabaseOutOfDate(
            f"{db.where} holds no Client Hub tables yet; run 'clienthub init' (or "
            "'clienthub migrate') to create them") from None
    head = head_from_files()
    if head is not None and stored != [head]:
        raise DatabaseOutOfDate(
            f"the database's schema is {', '.join(stored) or 'not recorded'}, and this "
            f"Client Hub's is {head}; run 'clienthub migrate' to bring the database up to "
            "date")


def _explained(exc: Exception, where: str) -> Exception:
    """The driver's error as one a user can act on."""
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if _is_missing_schema(exc):
        return DatabaseOutOfDate(f"{where} lacks tables or columns this Client Hub reads "
                                 f"({said}); run 'clienthub migrate'")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in said:
        return DatabaseUnavailable(f"{where} is not a database Client Hub can read; set "
                                   f"{_WHERE} to the hub's database")
    if isinstance(exc, sqlite3.Error):
        return DatabaseUnavailable(
            f"cannot read the database at {where} ({said}); check that this user may read "
            "it and write in its folder (SQLite keeps a lock file beside it)")
    if _is_postgres_error(exc):
        return DatabaseUnavailable(
            f"cannot read the database ({said}); check CLIENTHUB_DATABASE_URL and that the "
            "server is running")
    return exc  # not the database's: a mistake here, shown as it is


def _is_missing_schema(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).startswith(("no such table", "no such column"))
    if _is_postgres_error(exc):
        from psycopg import errors

        return isinstance(exc, errors.UndefinedTable | errors.UndefinedColumn)
    return False


def _is_postgres_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("psycopg")


__all__ = ["DatabaseUnavailable", "ReadOnly", "read_only"]
