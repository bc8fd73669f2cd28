"""How the background sync is doing, for ``GET /sync/status`` and ``clienthub status``.

For each account: its kind and name, whether it is enabled, the last run of every stream,
the lease if one is held (by whom, until when), mail waiting to be filed, and when it
last synced successfully. From those come findings (what is wrong, what to do next) and
one verdict per account and overall:

- failing: a stream's last run failed (a sync refused before it began, its server now
  outside the policy or its password undecryptable, is a failed run of the
  :data:`CONNECT` stream), or no run succeeded within ``stale_after`` (for an account
  that never synced, counted from when it was added);
- warnings: a last run interrupted; a run marked running that no live lease holds (its
  process stopped); fetched mail whose filing failed; an account added lately and not
  yet synced;
- healthy: none of these. Disabled accounts, and kinds no sync reads, are listed and
  judged on nothing.

Everything is read with plain SQL over the tables that ``hub.sync.models``,
``hub.accounts.models`` and ``hub.mail.models`` declare, through a :data:`Fetch` the
caller hands in: the API's session connection, or the command line's bare driver
connection (:mod:`hub.readonly_db`). So the command loads neither SQLAlchemy nor the
ORM, and starts in about the time Typer takes; the tests run this both ways, on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

#: Runs ``sql`` (in the driver's placeholder style) with ``params``; returns its rows.
Fetch = Callable[[str, Sequence[Any]], Sequence[Sequence[Any]]]

HEALTHY, WARNINGS, FAILING = "healthy", "warnings", "failing"
#: A finding's severity: it makes its account failing, or gives it a warning.
WARNING = "warning"
#: The stream of the run that records a sync refused before any stream was read. Any
#: later run of the account supersedes it: that sync got past the refusal.
CONNECT = "connect"
#: Run statuses that count as a successful sync.
SUCCEEDED = ("ok", "resynced")
#: ``hub.accounts.service.SYNCABLE_KINDS``, repeated here because that module loads the
#: ORM (a test holds the two equal).
SYNCABLE_KINDS = ("mail_archive", "imap", "local", "webdav")
#: How long an account may go without a successful sync before it is failing.
DEFAULT_STALE_AFTER = timedelta(hours=24)
#: The newest runs of an account read for its streams' last runs (the API's window).
RUN_WINDOW = 200


@dataclass(frozen=True, slots=True)
class RunView:
    """One stream's last run, as recorded (``hub.sync.models.SyncRun``)."""

    stream: str
    #: running | ok | failed | resynced | interrupted
    status: str
    started_at: datetime
    finished_at: datetime | None
    items: int
    errors: int
    unparsed: int
    lag_seconds: int | None
    message: str


@dataclass(frozen=True, slots=True)
class LeaseView:
    """The account's lease row: who holds it and until when (``live``: not yet expired)."""

    holder: str
    expires_at: datetime
    live: bool


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # FAILING or WARNING
    #: The stream it is about; None for the account as a whole.
    stream: str | None
    text: str
    next_step: str
    #: Which finding it is, for a page that words it in its reader's language:
    #: failed_run, interrupted_run, orphaned_run, stale, never_synced, not_synced_yet or
    #: filing_held.
    kind: str = ""


@dataclass(frozen=True, slots=True)
class AccountHealth:
    id: int
    kind: str
    name: str
    enabled: bool
    created_at: datetime
    #: The last run of every stream, newest first.
    runs: list[RunView]
    lease: LeaseView | None
    #: Mail fetched and not yet filed, and of those the copies whose filing failed.
    waiting: int
    held: int
    last_success_at: datetime | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        """Whether the sync is expected to keep this account up to date."""
        return self.enabled and self.kind in SYNCABLE_KINDS

    @property
    def running(self) -> bool:
        """A sync holds the account now."""
        return self.lease is not None and self.lease.live

    @property
    def verdict(self) -> str:
        return _worst(f.severity for f in self.findings)


@dataclass(frozen=True, slots=True)
class SyncHealth:
    checked_at: datetime
    stale_after: timedelta
    accounts: list[AccountHealth]

    @property
    def verdict(self) -> str:
        return _worst(f.severity for a in self.accounts for f in a.findings)


def _worst(severities: Any) -> str:
    found = set(severities)
    return FAILING if FAILING in found else WARNINGS if WARNING in found else HEALTHY


# -- reading ------------------------------------------------------------------------------

# Built from this module's constants and placeholders only, never from values.
_ACCOUNTS = "SELECT id, kind, name, enabled, created_at FROM accounts"
_LEASES = "SELECT account_id, holder, expires_at FROM sync_leases WHERE account_id IN"
_QUEUED = "SELECT account_id, COUNT(*), COUNT(error) FROM mail_inbound WHERE account_id IN"
_RUNS = ("SELECT stream, status, started_at, finished_at, items, errors, unparsed, "  # noqa: S608
         f"lag_seconds, message FROM sync_runs WHERE account_id = ? ORDER BY id DESC "
         f"LIMIT {RUN_WINDOW}")
_LAST_SUCCESS = ("SELECT finished_at FROM sync_runs WHERE account_id = ? AND status IN "  # noqa: S608
                 f"({', '.join(repr(status) for status in SUCCEEDED)}) "
                 "ORDER BY id DESC LIMIT 1")


def _marks(count: int) -> str:
    """``count`` placeholders, for an IN list."""
    return f"({', '.join('?' * count)})"


def in_paramstyle(sql: str, paramstyle: str) -> str:
    """This module's SQL (``?`` placeholders, no other ``?`` or ``%``) in a driver's
    placeholder style (its DB-API ``paramstyle``)."""
    if paramstyle == "qmark":
        return sql
    if paramstyle in ("format", "pyformat"):
        return sql.replace("?", "%s")
    raise ValueError(f"no placeholders for paramstyle {paramstyle!r}")


def read(fetch: Fetch, paramstyle: str, *, now: datetime | None = None,
         stale_after: timedelta = DEFAULT_STALE_AFTER,
         account_ids: Sequence[int] | None = None) -> SyncHealth:
    """The sync health of every account, or of those ``account_ids`` names (the ones a
    principal sees, as the accounts service tells them)."""
    def rows(sql: str, *params: Any) -> Sequence[Sequence[Any]]:
        return fetch(in_paramstyle(sql, paramstyle), params)

    now = now or datetime.now(UTC)
    if account_ids is None:
        accounts = rows(f"{_ACCOUNTS} ORDER BY id")
    elif account_ids:
        accounts = rows(f"{_ACCOUNTS} WHERE id IN {_marks(len(account_ids))} ORDER BY id",
                        *account_ids)
    else:
        accounts = []
    if not accounts:
        return SyncHealth(now, stale_after, [])
    ids = [int(row[0]) for row in accounts]
    leases: dict[int, LeaseView] = {}
    for account_id, holder, expires in rows(f"{_LEASES} {_marks(len(ids))}", *ids):
        until = _instant(expires)
        leases[int(account_id)] = LeaseView(str(holder), until, until > now)
    queued = {int(account_id): (int(waiting), int(held)) for account_id, waiting, held in rows(
        f"{_QUEUED} {_marks(len(ids))} GROUP BY account_id", *ids)}
    out = []
    for account_id, kind, name, enabled, created in accounts:
        recent = [_run(row) for row in rows(_RUNS, account_id)]
        waiting, held = queued.get(int(account_id), (0, 0))
        account = AccountHealth(
            id=int(account_id), kind=str(kind), name=str(name), enabled=bool(enabled),
            created_at=_instant(created), runs=_last_of_each_stream(recent),
            lease=leases.get(int(account_id)), waiting=waiting, held=held,
            last_success_at=_last_success(recent))
        if account.judged:
            if account.last_success_at is None and len(recent) == RUN_WINDOW:
                # Nothing succeeded in the window: look further back, once.
                older = rows(_LAST_SUCCESS, account_id)
                if older and older[0][0] is not None:
                    account = replace(account, last_success_at=_instant(older[0][0]))
            account = replace(account, findings=_findings(account, now, stale_after))
        out.append(account)
    return SyncHealth(now, stale_after, out)


def _run(row: Sequence[Any]) -> RunView:
    stream, status, started, finished, items, errors, unparsed, lag, message = row
    return RunView(stream=str(stream), status=str(status), started_at=_instant(started),
                   finished_at=_instant(finished) if finished is not None else None,
                   items=int(items or 0), errors=int(errors or 0), unparsed=int(unparsed or 0),
                   lag_seconds=None if lag is None else int(lag), message=str(message or ""))


def _instant(value: Any) -> datetime:
    """A stored time (naive UTC: a string from SQLite, a datetime from PostgreSQL) as an
    aware UTC one."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a stored time: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _last_of_each_stream(recent: list[RunView]) -> list[RunView]:
    """The newest run of each stream (``recent`` is newest first); a refusal only while
    no run came after it."""
    latest: dict[str, RunView] = {}
    for run in recent:
        latest.setdefault(run.stream, run)
    if CONNECT in latest and recent[0] is not latest[CONNECT]:
        del latest[CONNECT]
    return list(latest.values())


def _last_success(recent: list[RunView]) -> datetime | None:
    return max((r.finished_at for r in recent
                if r.status in SUCCEEDED and r.finished_at is not None), default=None)


# -- judging ------------------------------------------------------------------------------

def _findings(account: AccountHealth, now: datetime,
              stale_after: timedelta) -> list[Finding]:
    """What is wrong with the account's sync, and what to do about it."""
    succeeded = account.last_success_at
    again = f"'clienthub sync --account {account.id}'"
    found: list[Finding] = []
    for run in account.runs:
        if run.status == "failed":
            found.append(Finding(
                FAILING, run.stream,
                f"{run.stream}: the last run failed: {run.message or 'no reason was recorded'}",
                f"do what the error says, then run {again} to try again now (the "
                "scheduled sync also tries again by itself)", "failed_run"))
        elif run.status == "interrupted":
            found.append(Finding(
                WARNING, run.stream, f"{run.stream}: the last run was interrupted: "
                f"{run.message or 'its process stopped'}",
                "nothing, if the next sync finishes (it goes on from the last checkpoint); "
                "if runs keep being interrupted, see the sync worker's log for why it stops",
                "interrupted_run"))
        elif run.status == "running" and not account.running:
            found.append(Finding(
                WARNING, run.stream, f"{run.stream}: marked running since "
                f"{moment(run.started_at)}, but no sync holds the account (its process "
                "stopped)", f"the next sync closes it and goes on from its last "
                f"checkpoint; {again} runs one now", "orphaned_run"))
    scheduled = ("check that the scheduled sync runs (the worker and its beat, or "
                 "'clienthub sync' from cron) and see its log")
    if succeeded is not None and now - succeeded > stale_after:
        found.append(Finding(
            FAILING, None, f"no successful sync for {age(now - succeeded)} (more than "
            f"{age(stale_after)})", scheduled, "stale"))
    elif succeeded is None and now - account.created_at > stale_after:
        found.append(Finding(
            FAILING, None, "never synced successfully since it was added "
            f"{age(now - account.created_at)} ago", scheduled, "never_synced"))
    elif succeeded is None and not account.runs:
        found.append(Finding(
            WARNING, None, f"not synced yet (added {age(now - account.created_at)} ago)",
            f"the scheduled sync picks it up; {again} syncs it now", "not_synced_yet"))
    if account.held:
        found.append(Finding(
            WARNING, "filing", f"{account.held} fetched messages could not be filed",
            f"they are tried again with every sync; {again} shows why", "filing_held"))
    return found


# -- showing ------------------------------------------------------------------------------

def age(delta: timedelta) -> str:
    """A span as a person says it: ``2 d 3 h``, ``5 h 12 min``, ``7 min``, ``40 s``."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


def moment(value: datetime | None) -> str:
    """A time as the command line shows it: UTC, to the minute."""
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def as_dict(health: SyncHealth) -> dict[str, Any]:
    """The health as plain JSON values (times in ISO 8601, UTC)."""
    def when(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat()

    return {
        "verdict": health.verdict,
        "checked_at": when(health.checked_at),
        "stale_after_hours": health.stale_after.total_seconds() / 3600,
        "accounts": [{
            "id": a.id, "kind": a.kind, "name": a.name, "enabled": a.enabled,
            "judged": a.judged, "verdict": a.verdict if a.judged else None,
            "last_success_at": when(a.last_success_at),
            "seconds_since_success": None if a.last_success_at is None else int(
                (health.checked_at - a.last_success_at).total_seconds()),
            "running": a.running,
            "lease": None if a.lease is None else {
                "holder": a.lease.holder, "expires_at": when(a.lease.expires_at),
                "live": a.lease.live},
            "mail_waiting": a.waiting, "mail_held": a.held,
            "streams": [{
                "stream": r.stream, "status": r.status, "started_at": when(r.started_at),
                "finished_at": when(r.finished_at), "items": r.items, "errors": r.errors,
                "unparsed": r.unparsed, "lag_seconds": r.lag_seconds, "message": r.message,
            } for r in a.runs],
            "findings": [{"severity": f.severity, "stream": f.stream, "text": f.text,
                          "next_step": f.next_step} for f in a.findings],
        } for a in health.accounts],
    }


__all__ = ["CONNECT", "DEFAULT_STALE_AFTER", "FAILING", "HEALTHY", "RUN_WINDOW",
           "SUCCEEDED", "SYNCABLE_KINDS", "WARNING", "WARNINGS", "AccountHealth", "Fetch",
           "Finding", "LeaseView", "RunView", "SyncHealth", "age", "as_dict",
           "in_paramstyle", "moment", "read"]
