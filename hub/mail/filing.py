"""Filing fetched mail: parse, thread, match and write each waiting copy, batch by batch.

The fetch leaves new mailbox copies in ``mail_inbound`` (:mod:`hub.mail.ingest`). Filing
takes them in the order they were fetched, a batch at a time, and writes each batch in
one transaction that also takes it off the queue: a killed filing resumes with the first
copy not filed and never files one twice. Parsing is pure and the slow part; with more
than one core it runs in worker processes, the next batch parsing while this one is
written. A copy whose filing fails is kept, marked with the error and counted; it never
stops the rest, and the next run tries it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.models import Account
from hub.mail import bulk
from hub.mail.arrival import Arrival, file_one
from hub.mail.matching import Directory, load_directory
from hub.mail.models import MailInbound, MailRaw
from hub.mail.parsing import Parse, Parser, warm_up
from hub.sync import records
from hub.sync.leases import LEASE_LOST, LeaseLost, renew_lease
from hub.sync.models import SourceRecord, SyncRun
from hub.sync.parsed_mail import ParsedMail
from hub.sync.retry import fast_then_careful
from hub.sync.runs import StreamCounts, close_run, note_batch, open_run

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]
#: The stream name a filing run is recorded under, beside the fetch's streams.
STREAM = "filing"
#: Below this many waiting copies, worker processes cost more than they save.
POOL_THRESHOLD = 2000
#: Raw mail one batch holds at most (a larger message is a batch by itself); two batches
#: are in memory at once, one being written while the next parses.
BATCH_BYTES = 32 * 1024 * 1024

_INBOUND = cast(Table, MailInbound.__table__)
_RAW = cast(Table, MailRaw.__table__)
_RECORDS = cast(Table, SourceRecord.__table__)
# Lists bound whole, expanded when the statement runs (not 500 literals built per chunk).
_DEQUEUE = delete(_INBOUND).where(
    _INBOUND.c.source_record_id.in_(bindparam("ids", expanding=True)))
_DROP_RAW = delete(_RAW).where(_RAW.c.id.in_(bindparam("ids", expanding=True)))


def waiting(session: Session, account_id: int) -> int:
    """How many copies of the account wait to be filed."""
    return queued(session, account_id)[0]


def queued(session: Session, account_id: int) -> tuple[int, int]:
    """(waiting to be filed, of which held after a failed filing) for the account."""
    total, held = session.execute(select(
        func.count(), func.count(_INBOUND.c.error)).where(
        _INBOUND.c.account_id == account_id)).one()
    return int(total or 0), int(held or 0)


@dataclass
class _Waiting:
    """One queued copy as read from the database, before its parse."""

    record: records.Record
    raw_id: int
    sha256: str
    raw: bytes
    flags: list[str]
    headers_only: bool
    #: The record as stored, which a failed attempt puts back: the record's own snapshot
    #: may already hold what the attempt wrote before it was rolled back.
    stored: records.Stored


class Filing:
    def __init__(self, factory: sessionmaker[Session], parse: Parse, *, batch_size: int = 500,
                 batch_bytes: int = BATCH_BYTES, workers: int = 0, pool_from: int = POOL_THRESHOLD,
                 set_based: bool = True) -> None:
        """``workers`` parse processes once ``pool_from`` copies wait; ``set_based=False``
        files every copy by itself, as after a failure: the reference that tests hold
        the set-based path to."""
        self.factory = factory
        self.pool_from = pool_from
        self.set_based = set_based
        self.parse = parse
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.workers = workers
        self._directory_read: tuple[float, Directory] | None = None
        #: Batches that the set-based path gave up on and filed copy by copy.
        self.careful_batches = 0
        #: Parse processes the last run used (0: it parsed in this process).
        self.parse_processes = 0
        self._holder: str | None = None

    def warming(self, progress: Progress | None = None) -> Progress:
        """The progress callback for the fetch that this filing follows: it passes each
        count on to ``progress`` and, once the fetch has brought enough mail for parse
        workers, starts their server (:func:`hub.mail.parsing.warm_up`), so that it
        starts while the fetch still runs rather than when the first batch waits."""
        fetched = 0

        def report(stream: str, count: int) -> None:
            nonlocal fetched
            if self.workers > 0 and fetched < self.pool_from <= fetched + count:
                warm_up(self.parse)
            fetched += count
            if progress is not None:
                progress(stream, count)

        return report

    def run(self, account_id: int, progress: Progress | None = None,
            holder: str | None = None) -> SyncRun:
        """File every copy of the account waiting now; a run record says how it went.
        ``holder``: the account's lease, renewed with every batch."""
        self._holder = holder
        with self.factory() as session:
            total = waiting(session, account_id)
        counts = open_run(self.factory, account_id, STREAM)
        status, message = "ok", ""
        lost: LeaseLost | None = None
        try:
            with self._parser(total) as parser:
                for batch, parsed in self._parsed(account_id, parser):
                    counts.add(self._file(account_id, batch, parsed, counts))
                    if progress is not None:
                        progress(STREAM, len(batch))
        except LeaseLost as exc:
            status, message, lost = "interrupted", LEASE_LOST, exc
        except Exception as exc:  # the queue is intact: the next run goes on from here
            log.exception("filing mail of account %s failed", account_id)
            status, message = "failed", (f"filing stopped ({type(exc).__name__}: {exc}); "
                                         "the waiting mail is kept and the next sync goes on")
        done_run = close_run(self.factory, counts, status, message)
        if lost is not None:
            raise lost
        return done_run

    # -- reading and parsing -----------------------------------------------------------

    @contextmanager
    def _parser(self, total: int) -> Iterator[Parser]:
        """Worker processes when enough copies wait to be worth them, else this one."""
        parser = Parser(self.parse, self.workers if total >= self.pool_from else 0)
        self.parse_processes = parser.processes
        try:
            yield parser
        finally:
            parser.close()

    def _parsed(self, account_id: int, parser: Parser
                ) -> Iterator[tuple[list[_Waiting], list[ParsedMail]]]:
        """Batches with their parses; the next batch is read and handed to the workers
        before this one is given out, so it parses while this one is written."""
        batch = self._read(account_id, 0)
        pending = parser.submit([w.raw for w in batch]) if batch else None
        while batch and pending is not None:
            following = self._read(account_id, batch[-1].record.id)
            following_parse = parser.submit([w.raw for w in following]) if following else None
            parsed = pending()
            for item in batch:
                item.raw = b""  # the parse has it; memory stays at about two batches
            yield batch, parsed
            batch, pending = following, following_parse

    def _read(self, account_id: int, after: int) -> list[_Waiting]:
        """The next copies after ``after``: up to ``batch_size`` of them and, past the
        first, no more than ``batch_bytes`` of raw mail (sizes are read first, without
        the bytes), so that a run of large messages keeps memory bounded."""
        queue = (_INBOUND.c.account_id == account_id, _INBOUND.c.source_record_id > after)
        with self.factory() as session:
            conn = session.connection()
            sizes = conn.execute(
                select(_INBOUND.c.source_record_id, func.length(_RAW.c.raw))
                .join(_RAW, _RAW.c.id == _INBOUND.c.raw_id).where(*queue)
                .order_by(_INBOUND.c.source_record_id).limit(self.batch_size)).all()
            if not sizes:
                return []
            last, total = sizes[0][0], 0
            for record_id, size in sizes:
                total += size or 0
                if total > self.batch_bytes and record_id != sizes[0][0]:
                    break
                last = record_id
            columns = (_INBOUND.c.source_record_id, _INBOUND.c.raw_id, _INBOUND.c.flags,
                       _INBOUND.c.headers_only, _RAW.c.sha256, _RAW.c.raw, _RECORDS.c.stream,
                       _RECORDS.c.external_id, _RECORDS.c.kind, _RECORDS.c.occurred_at,
                       _RECORDS.c.target_id, _RECORDS.c.deleted_at, _RECORDS.c.data)
            rows = conn.execute(
                select(*columns)
                .join(_RAW, _RAW.c.id == _INBOUND.c.raw_id)
                .join(_RECORDS, _RECORDS.c.id == _INBOUND.c.source_record_id)
                .where(*queue, _INBOUND.c.source_record_id <= last)
                .order_by(_INBOUND.c.source_record_id)).all()
        out = []
        # Unpacked in the order of ``columns``: a row's attributes by name cost more.
        for (record_id, raw_id, flags, headers_only, sha256, raw, stream, external_id, kind,
             occurred_at, target_id, deleted_at, data) in rows:
            record = records.Record(  # which takes its snapshot as it is made
                id=record_id, account_id=account_id, stream=stream, external_id=external_id,
                kind=kind, occurred_at=occurred_at, target_id=target_id,
                deleted_at=deleted_at, data=dict(data or {}))
            out.append(_Waiting(record, raw_id, sha256, raw, list(flags or []),
                                bool(headers_only), record.stored))
        return out

    # -- writing -----------------------------------------------------------------------

    def _file(self, account_id: int, batch: list[_Waiting], parsed: list[ParsedMail],
              counts: StreamCounts) -> StreamCounts:
        """The counts of one batch (filed, unparsed, failed): set-based first, and copy
        by copy after a failure, so that one bad copy is set aside and the rest still
        land. The run record of ``counts`` gets the new totals in the same transaction."""
        def attempt(session: Session, careful: bool) -> StreamCounts:
            arrivals = [Arrival(w.record, w.raw_id, w.sha256, p, w.flags, w.headers_only)
                        for w, p in zip(batch, parsed, strict=True)]
            account = session.get(Account, account_id)
            assert account is not None
            directory = self._directory(session)
            failed = (self._careful(session, account, arrivals, directory)
                      if careful or not self.set_based
                      else self._fast(session, account, arrivals, directory))
            done = [a for a in arrivals if a.record.id not in failed]
            self._dequeue(session, done, failed)
            tally = StreamCounts(items=len(done), errors=len(failed),
                                 unparsed=sum(1 for a in done if a.failed))
            note_batch(session, counts, tally)
            if self._holder is not None:
                renew_lease(session, account_id, self._holder)
            return tally

        def undo(session: Session) -> None:
            for w in batch:  # what the attempt set on the records went with it
                w.record.restore(w.stored)

        def falling_back(exc: Exception) -> None:
            log.warning("filing a batch of account %s set-based failed (%s: %s); "
                        "filing it copy by copy", account_id, type(exc).__name__, exc)
            self.careful_batches += 1

        return fast_then_careful(self.factory, attempt, undo=undo, falling_back=falling_back)

    def _fast(self, session: Session, account: Account, arrivals: list[Arrival],
              directory: Directory) -> dict[int, str]:
        for arrival in bulk.ingest(session, account, arrivals, directory):
            file_one(session, account, arrival, directory)
        return {}

    def _careful(self, session: Session, account: Account, arrivals: list[Arrival],
                 directory: Directory) -> dict[int, str]:
        failed: dict[int, str] = {}
        for arrival in arrivals:
            try:
                with session.begin_nested():
                    file_one(session, account, arrival, directory)
            except Exception as exc:  # kept in the queue, marked, counted
                log.warning("filing copy %s of account %s failed: %s", arrival.record.id,
                            account.id, type(exc).__name__)
                arrival.record.target_id = arrival.record.stored.target_id
                arrival.dropped.clear()
                failed[arrival.record.id] = f"{type(exc).__name__}: {exc}"[:2000]
        return failed

    def _dequeue(self, session: Session, done: list[Arrival], failed: dict[int, str]) -> None:
        session.flush()
        conn = session.connection()
        ids = [a.record.id for a in done]
        for start in range(0, len(ids), 500):
            conn.execute(_DEQUEUE, {"ids": ids[start:start + 500]})
        dropped = sorted({raw_id for a in done for raw_id in a.dropped})
        for start in range(0, len(dropped), 500):
            conn.execute(_DROP_RAW, {"ids": dropped[start:start + 500]})
        for record_id, error in failed.items():
            conn.execute(update(_INBOUND).where(_INBOUND.c.source_record_id == record_id)
                         .values(error=error))
        records.save(conn, [a.record for a in done])

    def _directory(self, session: Session) -> Directory:
        # Staff, contacts and domains change rarely; one read per batch would cost more
        # than the batch's matching, and a contact added meanwhile re-matches past mail.
        read = self._directory_read
        if read is None or time.monotonic() - read[0] > 60:
            read = self._directory_read = (time.monotonic(), load_directory(session))
        return read[1]
