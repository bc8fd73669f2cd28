"""A run's record: what one stream's fetch (or one filing of mail) did, and how it ended.

A run is opened as ``running``, its counts are written in each batch's own transaction (so
that they land, or not, with the batch, and the status API shows a long sync's progress),
and it is closed with how it ended and how far behind the source it was. Runs left
``running`` by a process that stopped are closed as ``interrupted`` by the next holder of
the account's lease. The fetch runner and mail filing keep their runs alike through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from hub.db import utcnow
from hub.sync.models import SyncRun

#: What a run closed for a process that stopped before it finished says.
INTERRUPTED = ("the process stopped before this run finished; the next run went on from "
               "its last checkpoint")


@dataclass
class StreamCounts:
    #: The run row these counts are written to as a batch commits (the status API shows
    #: a long sync's progress from it).
    run_id: int | None = None
    items: int = 0
    errors: int = 0
    unparsed: int = 0
    newest: datetime | None = None

    def add(self, batch: StreamCounts) -> None:
        """Take in a committed batch's counts."""
        self.items += batch.items
        self.errors += batch.errors
        self.unparsed += batch.unparsed
        if batch.newest is not None and (self.newest is None or batch.newest > self.newest):
            self.newest = batch.newest


def open_run(factory: sessionmaker[Session], account_id: int, stream: str) -> StreamCounts:
    """A new run record, running; the counts to keep for it."""
    with factory() as session:
        run = SyncRun(account_id=account_id, stream=stream, status="running")
        session.add(run)
        session.commit()
        return StreamCounts(run_id=run.id)


def note_batch(session: Session, counts: StreamCounts, batch: StreamCounts) -> None:
    """In a batch's transaction: the run record gets the totals with the batch's counts,
    so that they land (or not) with the batch."""
    session.execute(update(SyncRun).where(SyncRun.id == counts.run_id).values(
        items=counts.items + batch.items, errors=counts.errors + batch.errors,
        unparsed=counts.unparsed + batch.unparsed))


def close_run(factory: sessionmaker[Session], counts: StreamCounts, status: str,
              message: str) -> SyncRun:
    """The run record with how the run ended, its counts and its lag."""
    with factory() as session:
        done = session.get(SyncRun, counts.run_id)
        assert done is not None
        done.status, done.message = status, message[:2000]
        done.finished_at = utcnow()
        done.items, done.errors, done.unparsed = counts.items, counts.errors, counts.unparsed
        if counts.newest is not None:
            done.lag_seconds = max(0, int((done.finished_at - counts.newest).total_seconds()))
        session.commit()
        return done


def close_interrupted(factory: sessionmaker[Session], account_id: int) -> None:
    """Runs of the account left "running" by a process that stopped (killed, the machine
    down) say so. Call it holding the account's lease: then none of them is alive."""
    with factory() as session:
        session.execute(update(SyncRun).where(
            SyncRun.account_id == account_id, SyncRun.status == "running").values(
            status="interrupted", finished_at=utcnow(), message=INTERRUPTED))
        session.commit()


__all__ = ["INTERRUPTED", "StreamCounts", "close_interrupted", "close_run", "note_batch",
           "open_run"]
