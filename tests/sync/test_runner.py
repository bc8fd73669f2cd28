"""The runner against scripted connectors: checkpoints, crash and resume, resync, leases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.errors import Conflict
from hub.sync.models import SourceRecord, SyncCursor, SyncRun
from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError
from hub.sync.runner import Runner, acquire_lease

T = datetime(2026, 11, 1, tzinfo=UTC)


class Counter:
    """A sink that counts what it applied; item "bad" raises."""

    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, session: Session, account: Account, record: SourceRecord,
              item: Item) -> bool:
        if item.data.get("bad"):
            raise ValueError("cannot apply")
        self.applied.append(item.external_id)
        return not item.data.get("unparsed", False)

    def gone(self, session: Session, account: Account, record: SourceRecord) -> None:
        self.applied.append(f"gone:{record.external_id}")


class Scripted:
    """Yields `total` items in batches of 10; can crash after a number of checkpoints."""

    def __init__(self, total: int, crash_after: int | None = None,
                 invalidate: bool = False) -> None:
        self.total, self.crash_after, self.invalidate = total, crash_after, invalidate
        self.starts: list[Any] = []

    def streams(self) -> list[str]:
        return ["s"]

    def check(self) -> None:
        return None

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        self.starts.append(dict(cursor) if cursor else None)
        if self.invalidate and cursor:
            self.invalidate = False
            raise CursorInvalidated(stream, "UIDVALIDITY changed")
        start = int(cursor["pos"]) if cursor else 0
        checkpoints = 0
        for i in range(start, self.total):
            yield Item(stream, f"id{i}", "thing", T, {"bad": i == 5, "unparsed": i == 6})
            if (i + 1) % 10 == 0:
                yield Checkpoint(stream, {"pos": i + 1})
                checkpoints += 1
                if self.crash_after is not None and checkpoints == self.crash_after:
                    self.crash_after = None
                    raise SourceError("connection dropped", retryable=True)


def _records(session, account_id):
    return session.scalar(select(func.count()).select_from(SourceRecord)
                          .where(SourceRecord.account_id == account_id))


def test_crash_between_checkpoints_resumes_without_duplicates(session_factory, session,
                                                               account):
    sink = Counter()
    connector = Scripted(35, crash_after=2)
    runner = Runner(session_factory, {"thing": sink})
    [first] = runner.run(account.id, connector)
    assert first.status == "failed" and "dropped" in first.message
    assert _records(session, account.id) == 20
    assert session.get(SyncCursor, (account.id, "s")).cursor == {"pos": 20}
    [second] = runner.run(account.id, connector)
    assert second.status == "ok" and second.items == 15
    assert connector.starts[-1] == {"pos": 20}
    assert _records(session, account.id) == 35
    # Re-running from scratch replays everything as updates, never as new rows.
    session.delete(session.get(SyncCursor, (account.id, "s")))
    session.commit()
    runner.run(account.id, Scripted(35))
    assert _records(session, account.id) == 35


def test_a_bad_item_is_counted_and_never_stops_the_run(session_factory, session, account):
    [run] = Runner(session_factory, {"thing": Counter()}).run(account.id, Scripted(12))
    assert (run.status, run.items, run.errors, run.unparsed) == ("ok", 12, 1, 1)
    bad = session.scalar(select(SourceRecord).where(SourceRecord.external_id == "id5"))
    assert "cannot apply" in bad.data["error"]


def test_invalidated_cursor_resyncs_the_stream_without_duplicates(session_factory, session,
                                                                   account):
    runner = Runner(session_factory, {"thing": Counter()})
    runner.run(account.id, Scripted(20))
    connector = Scripted(20, invalidate=True)
    [run] = runner.run(account.id, connector)
    assert run.status == "resynced" and "UIDVALIDITY" in run.message
    assert connector.starts == [{"pos": 20}, None]
    assert _records(session, account.id) == 20


def test_one_run_per_account_at_a_time(session_factory, account):
    acquire_lease(session_factory, account.id, "other-host:1")
    with pytest.raises(Conflict, match="already being synced"):
        Runner(session_factory, {"thing": Counter()}).run(account.id, Scripted(1))


def test_runs_are_recorded_with_lag(session_factory, session, account):
    Runner(session_factory, {"thing": Counter()}).run(account.id, Scripted(3))
    run = session.scalar(select(SyncRun).where(SyncRun.account_id == account.id))
    assert run.finished_at is not None and run.lag_seconds is not None and run.lag_seconds > 0


class OnlyCopy(Counter):
    """A sink holding the only copy of what the source sent (as the mail fetch does)."""

    keeps_only_copy = True


def test_an_item_a_sink_holding_the_only_copy_fails_on_stops_the_run_before_its_checkpoint(
        session_factory, session, account):
    runner = Runner(session_factory, {"thing": OnlyCopy()})
    [run] = runner.run(account.id, Scripted(12))
    assert run.status == "failed" and "id5" in run.message and "next one goes on" in run.message
    # Nothing of the batch with the bad item was kept, and the cursor did not pass it.
    assert session.get(SyncCursor, (account.id, "s")) is None
    assert _records(session, account.id) == 0
    connector = Scripted(12)
    connector.read = lambda stream, cursor: (  # the source no longer sends a bad item
        Item(stream, f"id{i}", "thing", T, {}) if i < 12 else Checkpoint(stream, {"pos": 12})
        for i in range(13))
    [again] = runner.run(account.id, connector)
    assert (again.status, again.items, again.errors) == ("ok", 12, 0)


def test_a_sync_whose_lease_was_taken_over_stops_without_writing_on(session_factory, session,
                                                                    account):
    from hub.sync.models import SyncLease
    from hub.sync.runner import LeaseLost

    class TakenOver(Scripted):
        def read(self, stream, cursor):
            for n, element in enumerate(super().read(stream, cursor)):
                if n == 15:  # mid-stream, another process takes the expired lease
                    with session_factory() as other:
                        other.get(SyncLease, account.id).holder = "other-host:2"
                        other.commit()
                yield element

    with pytest.raises(LeaseLost):
        Runner(session_factory, {"thing": Counter()}).run(account.id, TakenOver(30))
    assert session.get(SyncCursor, (account.id, "s")).cursor == {"pos": 10}
    assert _records(session, account.id) == 10
    run = session.scalar(select(SyncRun).where(SyncRun.account_id == account.id))
    assert run.status == "interrupted" and "took this account over" in run.message
    assert session.get(SyncLease, account.id).holder == "other-host:2"  # left to its holder
