"""``clienthub status``: whether the background sync is healthy, for the admin and for a
monitoring check (its exit code).

It reads the database through its driver alone (:mod:`hub.readonly_db`), never through
the ORM, and changes nothing: a check run every minute costs little more than Typer's
start, and a database an upgrade left behind is reported, not migrated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import err, out

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from hub.sync.status import AccountHealth, RunView, SyncHealth

#: The exit codes: healthy (warnings too), failing, the database could not be read.
HEALTHY, FAILING, UNREADABLE = 0, 1, 2


def status(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the same as JSON (times in UTC, ISO 8601)")] = False,
    stale_after: Annotated[float, typer.Option(
        min=0.001, help="Hours without a successful sync after which an account is "
                        "failing")] = 24.0,
) -> None:
    """Whether the background sync is healthy: each account's last run of every stream,
    its lease and its last successful sync. Exits 0 when healthy (warnings included),
    1 when an account's last run failed or it has not synced within --stale-after, and
    2 when the database cannot be read."""
    import json
    import sys
    from datetime import timedelta

    from hub import database_url
    from hub.errors import DatabaseOutOfDate
    from hub.readonly_db import DatabaseUnavailable, read_only
    from hub.sync import status as health

    try:
        with read_only(database_url.configured()) as db:
            found = health.read(db.fetch, db.paramstyle,
                                stale_after=timedelta(hours=stale_after))
    except (DatabaseUnavailable, DatabaseOutOfDate) as exc:
        from rich.text import Text

        if as_json:
            sys.stdout.write(json.dumps({"verdict": "unreadable", "error": exc.message},
                                        ensure_ascii=False) + "\n")
        err.print(Text.assemble(("Error: ", "red"), exc.message), highlight=False,
                  soft_wrap=True)
        raise typer.Exit(UNREADABLE) from None
    if as_json:
        sys.stdout.write(json.dumps(health.as_dict(found), indent=2, ensure_ascii=False) + "\n")
    else:
        _show(found)
    raise typer.Exit(FAILING if found.verdict == health.FAILING else HEALTHY)


_STATUS_STYLE = {"ok": "green", "resynced": "green", "failed": "red", "interrupted": "yellow",
                 "running": "cyan"}
_VERDICT_STYLE = {"healthy": "green", "warnings": "yellow", "failing": "bold red"}


def _console() -> Console:
    """The terminal's console; elsewhere (a pipe, a monitoring check) plain text, its
    lines not wrapped."""
    from rich.console import Console

    return out if out.is_terminal else Console(width=1000, no_color=True, highlight=False)


def _show(found: SyncHealth) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from hub.sync import status as health

    console = _console()
    plain = not out.is_terminal
    if not found.accounts:
        console.print("No accounts are connected yet, so there is nothing to sync; add one "
                      "with 'clienthub accounts add'.", soft_wrap=plain)
        return
    table = Table("account", "health", "stream", "status", "started", "finished", "items",
                  "errors", "last success", "lease", box=None if plain else box.ROUNDED,
                  pad_edge=not plain, highlight=False)
    for account in found.accounts:
        since = ("never" if account.last_success_at is None
                 else f"{health.age(found.checked_at - account.last_success_at)} ago")
        head: list[str | Text] = [f"#{account.id} {account.name} ({account.kind})",
                                  _verdict(account)]
        tail: list[str | Text] = [since if account.judged else "", _lease(account)]
        shown: list[RunView | None] = list(account.runs) or [None]
        for run in shown:
            if run is None:
                cells: list[str | Text] = ["-", "no runs yet", "", "", "", ""]
            else:
                cells = [run.stream, Text(run.status, style=_STATUS_STYLE.get(run.status, "")),
                         health.moment(run.started_at), health.moment(run.finished_at),
                         str(run.items), str(run.errors)]
            table.add_row(*head, *cells, *tail)
            head, tail = ["", ""], ["", ""]  # the account's cells on its first row only
    console.print(table)
    findings = [(account, f) for account in found.accounts for f in account.findings]
    for account, finding in findings:
        line = Text.assemble(
            ("Failing" if finding.severity == health.FAILING else "Warning",
             "red" if finding.severity == health.FAILING else "yellow"),
            f": #{account.id} {account.name}: {finding.text}\n  Next: {finding.next_step}")
        console.print(line, soft_wrap=plain)
    judged = [a for a in found.accounts if a.judged]
    failing = sum(1 for a in judged if a.verdict == health.FAILING)
    summary = "No account is synced: each is disabled or of a kind no sync reads." if (
        not judged) else {
        health.HEALTHY: f"Sync is healthy: {len(judged)} synced accounts, each synced "
                        f"within {found.stale_after.total_seconds() / 3600:g} h.",
        health.WARNINGS: f"Sync is working, with warnings: {len(judged)} synced accounts.",
        health.FAILING: f"Sync is failing: {failing} of {len(judged)} synced accounts.",
    }[found.verdict]
    console.print(Text(summary, style=_VERDICT_STYLE[found.verdict]), soft_wrap=plain)


def _verdict(account: AccountHealth) -> Text:
    from rich.text import Text

    if not account.enabled:
        return Text("disabled")
    if not account.judged:
        return Text(f"no sync reads {account.kind}")
    return Text(account.verdict, style=_VERDICT_STYLE.get(account.verdict, ""))


def _lease(account: AccountHealth) -> str:
    from hub.sync import status as health

    lease = account.lease
    if lease is None:
        return ""
    if lease.live:
        return f"{lease.holder} until {health.moment(lease.expires_at)}"
    return f"expired {health.moment(lease.expires_at)} ({lease.holder})"
