"""The sync runner: reads a connector's streams and commits items with their cursor.

For each stream: load the last committed cursor, read, and at every checkpoint upsert the
buffered items and the new cursor in ONE transaction. A crash between checkpoints replays
at most one batch, which the UNIQUE (account, stream, external_id) key turns into
updates, never duplicates. ``CursorInvalidated`` clears the cursor and re-reads the
stream from the start, with the same guarantee. One item that a sink cannot apply is set
aside on its record, counted and reported - it never stops the run - unless the sink holds
the only copy of it (fetched mail): then the run stops before the checkpoint that would
pass it, and the next run asks the source again. One run per account at a time, by the
account's lease (:mod:`hub.sync.leases`): every checkpoint renews it, and a process that
finds it taken over stops. Each stream's run is recorded (:mod:`hub.sync.runs`), and each
batch is written the fast way first (:mod:`hub.sync.retry`).

The runner knows accounts only by id: the sync layer sits below the accounts. What a sink
is handed as the account (its row, for the mail and drive sinks) comes from the
``account`` loader its caller gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from hub.db import utcnow
from hub.sync import records
from hub.sync.leases import (
    LEASE,
    LEASE_LOST,
    LeaseLost,
    SyncInProgress,
    acquire_lease,
    held,
    release_lease,
    renew_lease,
)
from hub.sync.models import SyncCursor, SyncRun
from hub.sync.protocol import Checkpoint, Connector, CursorInvalidated, Item, SourceError
from hub.sync.records import Record
from hub.sync.retry import fast_then_careful
from hub.sync.runs import StreamCounts, close_interrupted, close_run, note_batch, open_run

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Turns stored source records of one kind into domain rows. ``account`` is what the
    runner's ``account`` loader gave for the run's account (None without a loader).

    A sink whose rows are the only copy of what the source sent (the source is not asked
    again once the cursor moves on) says so with ``keeps_only_copy = True``: an item it
    fails on stops the run instead of being set aside."""

    def apply(self, session: Session, account: Any, record: Record,
              item: Item) -> bool:
        """Apply the item; return False when it was kept raw because it did not parse."""

    def gone(self, session: Session, account: Any, record: Record) -> None:
        """The source no longer has the item; the hub keeps its copy, marked."""


@runtime_checkable
class BatchSink(Sink, Protocol):
    """A sink that can also apply many items at once, set-based. The runner uses it on
    its fast path; its careful path (one item at a time, after a failure) uses ``apply``,
    and both must leave the same rows."""

    def apply_many(self, session: Session, account: Any,
                   pairs: list[tuple[Record, Item]]) -> int:
        """Apply every (record, item) in order; return how many were kept unparsed."""


@runtime_checkable
class SettlingSink(Sink, Protocol):
    """A sink that writes something once per batch, from everything the batch did (the
    drive's activity becomes collapsed timeline entries): the runner calls ``settle`` just
    before the batch's transaction commits, and ``discard`` when it rolls back."""

    def settle(self, session: Session) -> None:
        """Write what the transaction's items add up to, in the same transaction."""

    def discard(self, session: Session) -> None:
        """The transaction rolled back: forget what its items noted."""


Progress = Callable[[str, int], None]


#: What a sink is handed as the account, loaded in each batch's session from its id.
AccountLoader = Callable[[Session, int], Any]


def _no_account(session: Session, account_id: int) -> None:
    return None


class Runner:
    def __init__(self, factory: sessionmaker[Session], sinks: Mapping[str, Sink], *,
                 account: AccountLoader = _no_account) -> None:
        """``account`` loads what the sinks are handed as the account (the caller knows
        what its sinks need: the mail and drive sinks take the account's row)."""
        self.factory = factory
        self.sinks = sinks
        self.account = account
        # Checked once: a runtime protocol check per item was a tenth of a batch's time.
        self._batch_sinks = {kind: sink for kind, sink in sinks.items()
                             if isinstance(sink, BatchSink)}
        self._settling = list({id(sink): sink for sink in sinks.values()
                               if isinstance(sink, SettlingSink)}.values())
        # What each kind's sink keeps of an item on its record, looked up once per kind.
        self._keep: dict[str, Callable[[Item], Mapping[str, Any]] | None] = {}

    def run(self, account_id: int, connector: Connector,
            progress: Progress | None = None) -> list[SyncRun]:
        with self.leased(account_id) as holder:
            return self.run_streams(account_id, connector, holder, progress)

    @contextmanager
    def leased(self, account_id: int) -> Iterator[str]:
        """Hold the account's lease for the block (what else belongs to its sync - filing
        what the fetch brought - runs inside it too); yields the holder's name."""
        with held(self.factory, account_id) as keeper:
            # Runs left "running" by a process that stopped say so; this run goes on from
            # their last checkpoint.
            close_interrupted(self.factory, account_id)
            yield keeper.holder

    def run_streams(self, account_id: int, connector: Connector, holder: str,
                    progress: Progress | None = None) -> list[SyncRun]:
        return [self._run_stream(account_id, connector, stream, holder, progress)
                for stream in list(connector.streams())]

    def _run_stream(self, account_id: int, connector: Connector, stream: str, holder: str,
                    progress: Progress | None) -> SyncRun:
        counts = open_run(self.factory, account_id, stream)
        status, message = "ok", ""
        lost: LeaseLost | None = None
        try:
            try:
                self._read(account_id, connector, stream, self._cursor(account_id, stream),
                           counts, holder, progress)
            except CursorInvalidated as exc:
                log.info("cursor of %s/%s invalidated (%s); resyncing", account_id, stream,
                         exc.reason)
                self._save_cursor(account_id, stream, None)
                status, message = "resynced", f"the source reset its state ({exc.reason})"
                since = utcnow()
                self._read(account_id, connector, stream, None, counts, holder, progress)
                self._sweep(account_id, stream, since)
        except SourceError as exc:
            status, message = "failed", exc.message
        except CursorInvalidated as exc:
            status, message = "failed", f"the source reset its state twice ({exc.reason})"
        except LeaseLost as exc:
            status, message, lost = "interrupted", LEASE_LOST, exc
        done = close_run(self.factory, counts, status, message)
        if lost is not None:
            raise lost
        return done

    def _sweep(self, account_id: int, stream: str, since: datetime) -> None:
        """After a full re-read, what was not seen again is gone at the source (its ids
        were renumbered, as with a new UIDVALIDITY); the hub's copies are marked so."""
        with self.factory() as session:
            account = self.account(session, account_id)
            stale = records.where_stale(session.connection(), account_id, stream, since)
            for record in stale:
                record.deleted_at = utcnow()
                sink = self.sinks.get(record.kind)
                if sink is not None:
                    sink.gone(session, account, record)
            session.flush()
            records.save(session.connection(), stale)
            self._settle(session)
            session.commit()

    def _cursor(self, account_id: int, stream: str) -> dict[str, Any] | None:
        with self.factory() as session:
            row = session.get(SyncCursor, (account_id, stream))
            return dict(row.cursor) if row and row.cursor else None

    def _save_cursor(self, account_id: int, stream: str,
                     cursor: Mapping[str, Any] | None, session: Session | None = None) -> None:
        own = session is None
        s = session or self.factory()
        try:
            row = s.get(SyncCursor, (account_id, stream))
            if cursor is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(SyncCursor(account_id=account_id, stream=stream, cursor=dict(cursor)))
            else:
                row.cursor, row.updated_at = dict(cursor), utcnow()
            if own:
                s.commit()
        finally:
            if own:
                s.close()

    def _read(self, account_id: int, connector: Connector, stream: str,
              cursor: Mapping[str, Any] | None, counts: StreamCounts, holder: str,
              progress: Progress | None) -> None:
        batch: list[Item] = []
        for element in connector.read(stream, cursor):
            if isinstance(element, Checkpoint):
                self._commit(account_id, stream, batch, element.cursor, counts, holder)
                if progress is not None:
                    progress(stream, len(batch))
                batch = []
            else:
                batch.append(element)
        if batch:  # items after the last checkpoint: stored, cursor unchanged
            self._commit(account_id, stream, batch, None, counts, holder)
            if progress is not None:
                progress(stream, len(batch))

    def _commit(self, account_id: int, stream: str, batch: list[Item],
                cursor: Mapping[str, Any] | None, counts: StreamCounts, holder: str) -> None:
        # Fast path: the whole batch in one transaction, no per-item savepoints. If any
        # item fails, the batch is redone item by item so that one bad item is set aside
        # and the rest still land (the slow path is what the fast one must equal).
        def attempt(session: Session, careful: bool) -> StreamCounts:
            tally = StreamCounts()
            account = self.account(session, account_id)
            now = utcnow()
            found = records.for_batch(session.connection(), account_id, stream, batch,
                                      now, self._initial)
            if careful:
                for item in batch:
                    self._store(session, account, found, item, tally, careful)
            else:
                self._store_fast(session, account, found, batch, tally)
            session.flush()
            records.save(session.connection(), found.values(), seen=now)
            if cursor is not None:
                self._save_cursor(account_id, stream, cursor, session)
            renew_lease(session, account_id, holder)
            note_batch(session, counts, tally)
            self._settle(session)
            return tally

        counts.add(fast_then_careful(self.factory, attempt, undo=self._discard))

    def _settle(self, session: Session) -> None:
        for sink in self._settling:
            sink.settle(session)

    def _discard(self, session: Session) -> None:
        for sink in self._settling:
            sink.discard(session)

    def _initial(self, item: Item) -> dict[str, Any]:
        """What the item's sink keeps of it on its record, written with the record."""
        try:
            keep = self._keep[item.kind]
        except KeyError:
            found = getattr(self.sinks.get(item.kind), "record_data", None)
            keep = self._keep[item.kind] = found if callable(found) else None
        return dict(keep(item)) if keep is not None else {}

    def _store_fast(self, session: Session, account: Any, found: dict[str, Record],
                    batch: list[Item], counts: StreamCounts) -> None:
        """Runs of items for a sink that takes batches go to it together; the rest, and
        every deletion, one by one - in the order the source gave them."""
        run: list[tuple[Record, Item]] = []
        run_sink: BatchSink | None = None
        batched = self._batch_sinks

        def flush() -> None:
            if run_sink is not None and run:
                counts.unparsed += run_sink.apply_many(session, account, run)
            run.clear()

        for item in batch:
            sink = batched.get(item.kind)
            if item.deleted or sink is None:
                flush()
                self._store(session, account, found, item, counts, careful=False)
                continue
            if sink is not run_sink:
                flush()
                run_sink = sink
            record = self._seen(found[item.external_id], item, counts)
            self._live(record, item)
            run.append((record, item))
        flush()

    @staticmethod
    def _live(record: Record, item: Item) -> None:
        record.deleted_at = None
        if item.kind == record.kind:  # a flag change keeps the message's time
            record.occurred_at = item.occurred_at

    @staticmethod
    def _seen(record: Record, item: Item, counts: StreamCounts) -> Record:
        counts.items += 1
        if counts.newest is None or item.occurred_at > counts.newest:
            counts.newest = item.occurred_at
        return record

    def _store(self, session: Session, account: Any, found: dict[str, Record],
               item: Item, counts: StreamCounts, careful: bool) -> None:
        record = self._seen(found[item.external_id], item, counts)
        if not careful:
            self._apply(session, account, record, item, counts)
            return
        before = (record.kind, record.occurred_at, record.target_id, record.deleted_at,
                  dict(record.data))
        try:
            with session.begin_nested():
                self._apply(session, account, record, item, counts)
        except Exception as exc:  # one bad item never stops the run (it is kept, marked)
            if getattr(self.sinks.get(item.kind), "keeps_only_copy", False):
                # Set aside, the item would be gone: the cursor moves past it and the
                # source is not asked again. The run stops before that checkpoint.
                raise SourceError(
                    f"storing {item.kind} {item.external_id} failed "
                    f"({exc.__class__.__name__}: {exc}); the sync stopped at its last "
                    "checkpoint and the next one goes on from there (if this repeats, "
                    "check the database's free space)", retryable=True) from exc
            log.warning("item %s of account %s failed: %s", item.external_id, record.account_id,
                        exc.__class__.__name__)
            counts.errors += 1
            # What the sink set on the record went with the savepoint.
            (record.kind, record.occurred_at, record.target_id, record.deleted_at,
             record.data) = before
            record.data = {"error": f"{exc.__class__.__name__}: {exc}"[:2000]}

    def _apply(self, session: Session, account: Any, record: Record, item: Item,
               counts: StreamCounts) -> None:
        sink = self.sinks.get(item.kind)
        if item.deleted:
            record.deleted_at = record.deleted_at or utcnow()
            if sink is not None:
                sink.gone(session, account, record)
            return
        self._live(record, item)
        if sink is None:
            record.data = {"error": f"no sink for items of kind {item.kind!r}"}
            counts.errors += 1
        elif not sink.apply(session, account, record, item):
            counts.unparsed += 1


# The lease's and the run record's names, for callers that know them from here.
__all__ = ["LEASE", "LEASE_LOST", "AccountLoader", "BatchSink", "LeaseLost", "Progress",
           "Runner", "SettlingSink", "Sink", "StreamCounts", "SyncInProgress", "acquire_lease",
           "close_run", "note_batch", "open_run", "release_lease", "renew_lease"]
