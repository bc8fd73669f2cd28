"""Engine, sessions and the unit of work. SQLite by default, PostgreSQL by URL.

Times are stored as naive UTC in the database and handed out as aware UTC, so that the
same comparisons work on SQLite (which has no time zone type) and on PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Executable,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

from hub.errors import DatabaseBusy

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own lock is the only one
    fcntl = None  # type: ignore[assignment]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; attach a time zone first")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


#: How long a write waits for the one before it (another process's too) before giving up.
BUSY_TIMEOUT_SECONDS = 30.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; ``kwargs`` go to SQLAlchemy (``pool_size`` for a server, for one)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS,
                                  "factory": _SQLiteConnection, **kwargs["connect_args"]}
        engine = create_engine(url, **kwargs)
        writer = _writer_lock(engine.url.database or "")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            if isinstance(dbapi_conn, _SQLiteConnection):
                dbapi_conn.writer = writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # WAL lets the API read while a sync writes; it is a no-op for :memory:.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # The default 2 MB page cache makes every index insert of a large sync a page
            # read once the database outgrows it; 64 MB keeps the hot index pages in.
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# SQLite has one writer at a time. Left to itself, a writer that finds the database
# taken polls with growing sleeps (up to 100 ms apart, so under load some wait for
# seconds) and, in WAL mode, a transaction that read first and then wants to write after
# another has committed fails at once ("database is locked"). So every transaction that
# writes through a Session first takes this process's lock for the file (waiters queue
# on it and wake the moment it is free), then a lock on a file beside the database that
# the other processes using this code take too (``clienthub serve --workers N``, a sync
# worker; polled a millisecond apart), then BEGIN IMMEDIATE: the write lock before
# anything is read. A process without that file lock (an older version, the sqlite3
# shell) meets it as SQLite's own lock, waited out by the busy timeout.

_WRITERS: dict[str, _Writer] = {}
_WRITERS_GUARD = threading.Lock()


class _Writer:
    """The turn to write to one SQLite file: this process's lock, then the file lock."""

    def __init__(self, database: str | None) -> None:
        self._turn = threading.Lock()
        self._path = None if database is None or fcntl is None else database + "-writer"
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._turn.acquire(timeout=timeout):
            return False
        if self._take_file(deadline):
            return True
        self._turn.release()
        return False

    def _take_file(self, deadline: float) -> bool:
        if self._path is None or fcntl is None:
            return True
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return False
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
        except OSError:
            self._path = None  # no file can be made there: SQLite's own lock still holds
            return True

    def release(self) -> None:
        if self._fd is not None and self._path is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._turn.release()


def _writer_lock(database: str) -> _Writer:
    if database in ("", ":memory:"):
        return _Writer(None)  # a database of the connection's own
    with _WRITERS_GUARD:
        path = os.path.abspath(database)
        return _WRITERS.setdefault(path, _Writer(path))


class _SQLiteConnection(sqlite3.Connection):
    """The driver's connection, letting go of the writer lock when its transaction ends."""

    writer: _Writer | None = None
    holds_writer = False

    def begin_writing(self) -> None:
        if self.writer is None or self.holds_writer or self.in_transaction:
            return
        if not self.writer.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise DatabaseBusy(
                "the database is busy with other changes; nothing was saved, try again in a "
                "moment")
        self.holds_writer = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._let_go()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()

    def _let_go(self) -> None:
        if self.holds_writer and self.writer is not None:
            self.holds_writer = False
            self.writer.release()


def begin_writing(session: Session) -> None:
    """Make the session's transaction a writing one now, before it reads what it will
    write from: on SQLite the process's writer lock and BEGIN IMMEDIATE (unless it has
    written already); nothing on PostgreSQL, where rows lock as they are written."""
    _begin_immediate(session.connection())


def _begin_immediate(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if isinstance(raw, _SQLiteConnection):
        raw.begin_writing()


#: The PostgreSQL advisory lock that the write turn is ("CHub" in hex).
_WRITE_TURN_LOCK = 0x43487562


class HubSession(Session):
    """The session every factory here makes; it knows what its open transaction does:
    whether it has written (:meth:`has_written`), what to do once it has committed
    (:meth:`after_commit`) and whether each transaction takes the write turn first
    (:meth:`take_write_turns`).

    What it notes of a transaction names that transaction, so one that ended in any way
    (commit, rollback, close, a failed flush) leaves nothing for the next. Events are
    listened to on the one session that needs them, never on every session.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wrote_in: SessionTransaction | None = None
        self._takes_write_turns = False
        self._on_commit: dict[str, Callable[[], None]] = {}
        self._on_commit_of: SessionTransaction | None = None
        self._follows_ends = False

    def has_written(self) -> bool:
        """Has the open transaction changed anything (or is it about to)?"""
        return bool(self.new or self.dirty or self.deleted) or (
            self._wrote_in is not None and self._wrote_in is self.get_transaction())

    # A write takes SQLite's writer turn before it runs: a transaction that read first and
    # then wants to write after another has committed would fail at once in WAL mode.

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if self.new or self.dirty or self.deleted:  # autoflush calls this before each query
            self._writing()
        super().flush(objects)

    def execute(self, statement: Executable, *args: Any, **kwargs: Any) -> Any:
        if statement.is_dml:
            self._writing()
        return super().execute(statement, *args, **kwargs)

    def scalar(self, statement: Executable, *args: Any, **kwargs: Any) -> Any:
        if statement.is_dml:
            self._writing()
        return super().scalar(statement, *args, **kwargs)

    def scalars(self, statement: Executable, *args: Any, **kwargs: Any) -> Any:
        if statement.is_dml:
            self._writing()
        return super().scalars(statement, *args, **kwargs)

    def _writing(self) -> None:
        begin_writing(self)
        self._wrote_in = self.get_transaction()

    def take_write_turns(self) -> None:
        """Each transaction begun from now on takes the database's write turn before it
        reads anything, so that its checks and the writes that follow them (the next
        customer number, a name still free) never interleave with another's: on SQLite the
        writer lock, on PostgreSQL a transaction advisory lock that every such session
        takes, released by its commit or rollback."""
        if not self._takes_write_turns:
            self._takes_write_turns = True
            event.listen(self, "after_begin", HubSession._take_write_turn)

    def _take_write_turn(self, _transaction: SessionTransaction, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_TURN_LOCK})")
        else:
            _begin_immediate(conn)

    def after_commit(self, key: str, action: Callable[[], None]) -> None:
        """Run ``action`` once the open transaction has committed; a later action under the
        same ``key`` replaces this one. Any rollback, a savepoint's too, drops it (what it
        refers to may have gone with it), so a missed action must do no harm."""
        transaction = self.get_transaction()
        if transaction is None:
            raise RuntimeError("no transaction is open for the action to follow; run it now")
        if self._on_commit_of is not transaction:
            self._on_commit, self._on_commit_of = {}, transaction
        self._on_commit[key] = action
        if not self._follows_ends:
            # The events, not commit(): a transaction's context manager commits without it.
            self._follows_ends = True
            event.listen(self, "after_commit", HubSession._committed)
            event.listen(self, "after_soft_rollback", HubSession._rolled_back)

    def _committed(self) -> None:
        # Also fired when a savepoint is released: its rows commit with the transaction.
        if self.in_nested_transaction() or self._on_commit_of is not self.get_transaction():
            return
        actions = list(self._on_commit.values())
        self._on_commit, self._on_commit_of = {}, None
        for action in actions:
            action()

    def _rolled_back(self, _previous: SessionTransaction) -> None:
        self._on_commit = {}


def hub_session(session: Session) -> HubSession:
    """``session``, which must be a :class:`HubSession` for what only that one knows."""
    if not isinstance(session, HubSession):
        raise TypeError(
            f"this is a plain {type(session).__name__}, which neither notes what its "
            "transaction writes nor anchors the audit trail after a commit; open sessions "
            "through hub.db.make_session_factory (a sessionmaker with class_=HubSession)")
    return session


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that are :class:`HubSession`, typed as the plain ones the services take
    (``sessionmaker`` is invariant in its class); :func:`hub_session` narrows one."""
    return sessionmaker(bind=engine, class_=HubSession, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
