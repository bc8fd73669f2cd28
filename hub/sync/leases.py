"""The per-account lease: one sync (or folder apply) of an account at a time.

A lease is a row naming its holder and when it expires. The holder is
``[role:]host:pid:start``, where ``start`` tells this process apart from a later one that
got the same pid (the boot and the process's start time in clock ticks, from /proc on
Linux). So a process that died - ``kill -9``, out of memory - does not lock its account:

- on the same host, a lease whose holder is no longer running (its pid is gone, a zombie,
  or now another process) is taken over at once, and the takeover is logged;
- a lease held on another host is honoured until it expires, since nothing here can see
  whether that process lives.

The lease is short (:data:`LEASE`) and a holder keeps it alive two ways: every committed
batch renews it in the batch's own transaction (:func:`renew_lease` - a batch never
commits once the lease went to someone else: :class:`LeaseLost`), and while the lease is
:func:`held`, a daemon thread renews it every quarter of its length, so a stage that
blocks longer than the lease (a slow FETCH, a large parse, a WebDAV MOVE) does not lose
it. The thread dies with its process, so a killed holder stops renewing at once. Hosts
that share a database must have distinct host names.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hub.db import utcnow
from hub.errors import Conflict
from hub.sync.models import SyncLease

log = logging.getLogger(__name__)
#: How long a lease lasts without renewal: how long a sync killed on another host keeps
#: its account locked.
LEASE = timedelta(minutes=2)
#: The holder column's length (SyncLease.holder).
HOLDER_LENGTH = 100


class SyncInProgress(Conflict):
    """Another process holds the account's sync lease: a scheduled run is not needed."""


class LeaseLost(SyncInProgress):
    """This process's lease ran out (a pass longer than the lease without a checkpoint)
    and another process took the account over: this one stops, keeping what it
    committed, rather than sync the account twice at once."""


#: What a run stopped by a lost lease says.
LEASE_LOST = ("another sync took this account over while this one ran (its lease had run "
              "out); this one stopped, and what it committed is kept")


# -- who holds it ------------------------------------------------------------------------

@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """What tells process ``pid`` apart from a later one with the same pid: ``""`` where
    the system does not say (not Linux), None when no such process runs (or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "" if _pid_exists(pid) else None
    # The command name may hold spaces and parentheses; the fields follow the last ")".
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # killed, not yet reaped: gone for our purpose
        return None
    return f"{_boot_id()}.{fields[19]}"  # field 22, starttime (clock ticks after boot)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def _host() -> str:
    return socket.gethostname()[:60]


def holder_name(role: str = "") -> str:
    """This process as a lease holder, e.g. ``folders:host:4242:3f2a9c1e.81234``."""
    pid = os.getpid()
    start = process_start(pid) if Path("/proc").is_dir() else ""
    name = f"{_host()}:{pid}:{start or ''}"
    return (f"{role}:{name}" if role else name)[:HOLDER_LENGTH]


def holder_is_gone(holder: str) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs. A holder of
    another host, or one this cannot tell about, is taken to be alive."""
    parts = holder.rsplit(":", 3)
    if len(parts) < 3:
        return False
    host, pid_text, start = parts[-3], parts[-2], parts[-1]
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if Path("/proc").is_dir():
        running = process_start(pid)
        if running is None:
            return True
        # An empty start (an older holder, or no /proc) cannot tell a reused pid apart.
        return bool(start and running and running != start)
    return not _pid_exists(pid)


# -- taking, keeping, giving back ----------------------------------------------------------

def acquire_lease(factory: sessionmaker[Session], account_id: int, holder: str) -> None:
    """Take the account's lease for ``holder``, or raise SyncInProgress. A lease that
    expired, or whose holder on this host no longer runs, is taken over."""
    now = utcnow()
    with factory() as session:
        lease = session.get(SyncLease, account_id)
        if lease is None:
            session.add(SyncLease(account_id=account_id, holder=holder,
                                  expires_at=now + LEASE))
            try:
                session.commit()
            except IntegrityError as exc:  # another process inserted it first
                raise SyncInProgress(f"account {account_id} is already being synced; wait "
                                     "for that sync to finish") from exc
            return
        live = lease.expires_at > now and lease.holder != holder
        if live and not holder_is_gone(lease.holder):
            raise SyncInProgress(
                f"account {account_id} is already being synced by {lease.holder} (until "
                f"{lease.expires_at:%H:%M} UTC); wait for it to finish"
            )
        if live:
            log.warning("account %s: the lease of %s, whose process no longer runs, is "
                        "taken over by %s", account_id, lease.holder, holder)
        # Conditional on the row as read: of two processes taking over the same lease,
        # one wins and the other is told the account is busy.
        taken = session.execute(
            update(SyncLease).where(SyncLease.account_id == account_id,
                                    SyncLease.holder == lease.holder,
                                    SyncLease.expires_at == lease.expires_at)
            .values(holder=holder, expires_at=now + LEASE)
            .execution_options(synchronize_session=False))
        session.commit()
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            raise SyncInProgress(f"account {account_id} was taken by another sync just now; "
                                 "wait for it to finish")


def renew_lease(session: Session, account_id: int, holder: str) -> None:
    """Keep the lease while work goes on; part of the caller's transaction, which must
    not commit when the lease has gone to another process (LeaseLost)."""
    renewed = session.execute(update(SyncLease).where(SyncLease.account_id == account_id,
                                                      SyncLease.holder == holder)
                              .values(expires_at=utcnow() + LEASE)
                              .execution_options(synchronize_session=False))
    if renewed.rowcount == 0:  # type: ignore[attr-defined]
        raise LeaseLost(f"account {account_id}: {LEASE_LOST}")


def release_lease(factory: sessionmaker[Session], account_id: int, holder: str) -> None:
    with factory() as session:
        lease = session.get(SyncLease, account_id)
        if lease is not None and lease.holder == holder:
            session.delete(lease)
            session.commit()


class LeaseKeeper:
    """Renews a held lease from a daemon thread every quarter of :data:`LEASE`, so that a
    stage blocking longer than the lease keeps it. Finding the lease gone, it stops and
    says so (``lost``); the holder's next batch then stops with LeaseLost."""

    def __init__(self, factory: sessionmaker[Session], account_id: int, holder: str) -> None:
        self.factory, self.account_id, self.holder = factory, account_id, holder
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"lease-{account_id}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        """Raise LeaseLost if the keeper found the lease gone."""
        if self.lost:
            raise LeaseLost(f"account {self.account_id}: {LEASE_LOST}")

    def _run(self) -> None:
        while not self._stop.wait(LEASE.total_seconds() / 4):
            try:
                with self.factory() as session:
                    renew_lease(session, self.account_id, self.holder)
                    session.commit()
            except LeaseLost:
                log.warning("account %s: %s lost its lease; the sync stops at its next "
                            "batch", self.account_id, self.holder)
                self.lost = True
                return
            except OperationalError as exc:  # busy or reconnecting: the next turn retries
                log.info("renewing the lease of account %s failed for now: %s",
                         self.account_id, exc.__class__.__name__)


@contextmanager
def held(factory: sessionmaker[Session], account_id: int, role: str = "",
         ) -> Iterator[LeaseKeeper]:
    """Hold the account's lease for the block, renewed in the background; given back at
    the end. Yields the keeper (its ``holder`` is what batches renew the lease with)."""
    holder = holder_name(role)
    acquire_lease(factory, account_id, holder)
    keeper = LeaseKeeper(factory, account_id, holder)
    keeper.start()
    try:
        yield keeper
    finally:
        keeper.stop()
        release_lease(factory, account_id, holder)


__all__ = ["LEASE", "LEASE_LOST", "LeaseKeeper", "LeaseLost", "SyncInProgress",
           "acquire_lease", "held", "holder_is_gone", "holder_name", "process_start",
           "release_lease", "renew_lease"]
