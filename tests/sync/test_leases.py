"""The account lease: a killed holder does not lock its account, a live one does, and a
long stage keeps its lease."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.accounts.models import Account
from hub.sync import leases
from hub.sync.models import SyncCursor, SyncLease, SyncRun
from hub.sync.protocol import Checkpoint, Item
from hub.sync.runner import LeaseLost, Runner, SyncInProgress, acquire_lease, release_lease

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 11, 1, tzinfo=UTC)

# A sync in a process of its own: it commits one batch, says so, and then blocks in its
# source until it is killed.
SYNC_THEN_HANG = """
import sys, time
from hub.db import make_engine, make_session_factory
from hub.sync.protocol import Checkpoint, Item
from hub.sync.runner import Runner
import hub.models  # noqa: F401
from datetime import UTC, datetime

class Sink:
    def apply(self, session, account, record, item):
        return True
    def gone(self, session, account, record):
        pass

class Hangs:
    def streams(self):
        return ["s"]
    def read(self, stream, cursor):
        for i in range(10):
            yield Item(stream, f"id{i}", "thing", datetime(2026, 11, 1, tzinfo=UTC), {})
        yield Checkpoint(stream, {"pos": 10})
        print("checkpointed", flush=True)
        time.sleep(120)

factory = make_session_factory(make_engine(sys.argv[1]))
Runner(factory, {"thing": Sink()}).run(int(sys.argv[2]), Hangs())
"""


class Sink:
    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, session: Any, account: Account, record: Any, item: Item) -> bool:
        self.applied.append(item.external_id)
        return True

    def gone(self, session: Any, account: Account, record: Any) -> None:
        return None


class Counting:
    """Ten items and a checkpoint per batch, from where the cursor says; ``pause`` runs
    between the batches (a stage that blocks)."""

    def __init__(self, batches: int, pause: Any = None) -> None:
        self.batches, self.pause = batches, pause

    def streams(self) -> list[str]:
        return ["s"]

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        start = int(cursor["pos"]) if cursor else 0
        for pos in range(start, self.batches * 10, 10):
            if pos != start and self.pause is not None:
                self.pause()
            for i in range(pos, pos + 10):
                yield Item(stream, f"id{i}", "thing", T, {})
            yield Checkpoint(stream, {"pos": pos + 10})


@pytest.fixture
def living():
    """A process that runs for the test (its pid and start time are real)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def _hold(session, account_id: int, holder: str, for_: timedelta = timedelta(minutes=5)):
    session.add(SyncLease(account_id=account_id, holder=holder,
                          expires_at=datetime.now(UTC) + for_))
    session.commit()


def test_a_sync_killed_with_sigkill_does_not_lock_its_account(session_factory, session,
                                                              database_url, account, caplog):
    process = subprocess.Popen([sys.executable, "-c", SYNC_THEN_HANG, database_url,
                                str(account.id)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "checkpointed"
        held = session.get(SyncLease, account.id)
        assert held is not None and held.holder.startswith(f"{socket.gethostname()[:60]}:")
        assert held.expires_at - datetime.now(UTC) <= timedelta(minutes=2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    # Right after the kill, with its lease still unexpired: the next run is not refused,
    # goes on from the killed run's checkpoint and says the killed one was interrupted.
    session.expire_all()
    assert session.get(SyncLease, account.id).expires_at > datetime.now(UTC)
    sink = Sink()
    with caplog.at_level(logging.WARNING, logger="hub.sync.leases"):
        [run] = Runner(session_factory, {"thing": sink}).run(account.id, Counting(2))
    assert (run.status, run.items) == ("ok", 10) and sink.applied[0] == "id10"
    assert "no longer runs" in caplog.text
    statuses = session.scalars(select(SyncRun.status).where(SyncRun.account_id == account.id)
                               .order_by(SyncRun.id)).all()
    assert statuses == ["interrupted", "ok"]
    session.expire_all()
    assert session.get(SyncLease, account.id) is None  # given back


def test_a_live_holder_on_this_host_is_refused(session_factory, session, account, living):
    holder = f"{socket.gethostname()[:60]}:{living.pid}:{leases.process_start(living.pid)}"
    _hold(session, account.id, holder)
    with pytest.raises(SyncInProgress, match="already being synced"):
        acquire_lease(session_factory, account.id, leases.holder_name())
    with pytest.raises(SyncInProgress):
        Runner(session_factory, {"thing": Sink()}).run(account.id, Counting(1))
    session.expire_all()
    assert session.get(SyncLease, account.id).holder == holder
    # A holder names itself so: host, pid and the process's start.
    other = Account(owner_user_id=account.owner_user_id, kind="local", name="b",
                    settings={"path": "y"})
    session.add(other)
    session.commit()
    with Runner(session_factory, {}).leased(other.id) as mine:
        start = leases.process_start(os.getpid())
        assert start and mine == f"{socket.gethostname()[:60]}:{os.getpid()}:{start}"


def test_a_reused_pid_with_another_start_time_is_taken_over(session_factory, session, account,
                                                             living):
    # The pid runs, but it is not the process that took the lease.
    _hold(session, account.id, f"{socket.gethostname()[:60]}:{living.pid}:0000.1")
    [run] = Runner(session_factory, {"thing": Sink()}).run(account.id, Counting(1))
    assert run.status == "ok"
    # The same for a dead pid and for a zombie (killed, not yet reaped).
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        start = leases.process_start(zombie.pid)
        zombie.kill()
        time.sleep(0.3)
        holder = f"{socket.gethostname()[:60]}:{zombie.pid}:{start}"
        assert leases.holder_is_gone(holder)
        acquire_lease(session_factory, account.id, holder)
        acquire_lease(session_factory, account.id, leases.holder_name())
    finally:
        zombie.wait()


def test_a_holder_on_another_host_is_refused_until_its_lease_expires(session_factory, session,
                                                                     account, living):
    # Another host's pids mean nothing here, even one that runs here, or none at all.
    for holder in (f"elsewhere.example:{living.pid}:0000.1", "elsewhere.example:999999:",
                   "elsewhere.example:1"):
        session.query(SyncLease).delete()
        _hold(session, account.id, holder)
        with pytest.raises(SyncInProgress, match=r"elsewhere\.example"):
            acquire_lease(session_factory, account.id, leases.holder_name())
    session.get(SyncLease, account.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    acquire_lease(session_factory, account.id, leases.holder_name())
    session.expire_all()
    taken = session.get(SyncLease, account.id)
    assert taken.holder == leases.holder_name()
    # Short: a holder killed on another host locks the account for two minutes at most.
    assert taken.expires_at - datetime.now(UTC) <= timedelta(minutes=2)
    release_lease(session_factory, account.id, leases.holder_name())


def test_a_stage_longer_than_the_lease_keeps_it(session_factory, session, account,
                                                monkeypatch):
    monkeypatch.setattr(leases, "LEASE", timedelta(seconds=1))
    refused: list[str] = []

    def long_stage() -> None:
        time.sleep(2.5)  # more than twice the lease, with no checkpoint
        with session_factory() as other:
            expires = other.get(SyncLease, account.id).expires_at
        assert datetime.now(UTC) < expires <= datetime.now(UTC) + leases.LEASE
        try:
            acquire_lease(session_factory, account.id, "elsewhere.example:1:0000.1")
        except SyncInProgress as exc:
            refused.append(str(exc))

    [run] = Runner(session_factory, {"thing": Sink()}).run(account.id,
                                                           Counting(2, pause=long_stage))
    assert (run.status, run.items) == ("ok", 20)
    assert len(refused) == 1 and "already being synced" in refused[0]
    assert session.get(SyncCursor, (account.id, "s")).cursor == {"pos": 20}


def test_a_lease_taken_over_during_a_long_stage_stops_the_run(session_factory, session,
                                                               account, monkeypatch, caplog):
    monkeypatch.setattr(leases, "LEASE", timedelta(seconds=1))

    def taken_over() -> None:
        with session_factory() as other:
            other.get(SyncLease, account.id).holder = "elsewhere.example:1:0000.1"
            other.commit()
        time.sleep(1)  # the renewal finds the lease gone meanwhile

    with caplog.at_level(logging.WARNING, logger="hub.sync.leases"), \
            pytest.raises(LeaseLost):
        Runner(session_factory, {"thing": Sink()}).run(account.id,
                                                       Counting(2, pause=taken_over))
    assert "lost its lease" in caplog.text  # the renewal saw it first
    assert session.get(SyncCursor, (account.id, "s")).cursor == {"pos": 10}
    session.expire_all()
    assert session.get(SyncLease, account.id).holder == "elsewhere.example:1:0000.1"
