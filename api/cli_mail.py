"""``clienthub accounts``, ``clienthub sync`` and ``clienthub keys``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import ID_MAX, ByOpt, acting, err, open_database, out, work
from hub.errors import ClientHubError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.accounts.models import Account

accounts_app = typer.Typer(no_args_is_help=True, help="Mail and drive accounts.")
add_app = typer.Typer(no_args_is_help=True, help="Add an account.")
keys_app = typer.Typer(no_args_is_help=True, help="Keys that encrypt account secrets.")
accounts_app.add_typer(add_app, name="add")


def _secret(prompt: str) -> str:
    """From CLIENTHUB_ACCOUNT_SECRET or a hidden prompt - never from the command line."""
    from hub.settings import get_settings

    given = get_settings().account_secret
    if given is not None:
        return given.get_secret_value()
    if not sys.stdin.isatty():
        raise ClientHubError(
            "no terminal to ask the password on; set CLIENTHUB_ACCOUNT_SECRET for this "
            "command instead (never pass it as an argument)"
        )
    return str(typer.prompt(prompt, hide_input=True))


def _add(owner: str, data: dict[str, object], by: str | None = None) -> Account:
    """Run on the server, the command line grants as an admin does (for the owner it
    names), under the same rules: server paths under CLIENTHUB_SERVER_ROOTS, hosts as
    CLIENTHUB_OUTBOUND_ALLOW allows; the audit trail records it as the command line's,
    or as the admin ``by`` names."""
    from hub.accounts import service as accounts
    from hub.accounts.schemas import AccountIn
    from hub.staff.service import find_user_by_email

    def run(session: Session) -> Account:
        user = find_user_by_email(session, owner)
        return accounts.create_account(
            session, acting(session, by),
            AccountIn.model_validate({**data, "owner_user_id": user.id}))

    return work(run)


@add_app.command("imap")
def add_imap(
    owner: Annotated[str, typer.Option(help="Email of the staff member whose mailbox it is")],
    host: Annotated[str, typer.Option(help="IMAP server")],
    username: Annotated[str, typer.Option(help="Login name")],
    port: Annotated[int, typer.Option(help="993 for TLS, 143 for STARTTLS")] = 993,
    security: Annotated[str, typer.Option(help="tls, starttls or plain")] = "tls",
    folder: Annotated[list[str] | None, typer.Option(help="Extra folder (INBOX and Sent "
                                                          "are always read)")] = None,
    since: Annotated[str | None, typer.Option(help="Only mail from this date, YYYY-MM-DD")]
    = None,
    share_level: Annotated[str, typer.Option(help="full, subject or metadata")] = "full",
    name: Annotated[str | None, typer.Option(help="A name for the account")] = None,
    by: ByOpt = None,
) -> None:
    """Add an IMAP mailbox; the password is asked for (or read from
    CLIENTHUB_ACCOUNT_SECRET), never taken from the command line."""
    secret = _secret(f"Password for {username}@{host}")
    settings: dict[str, object] = {"host": host, "port": port, "security": security,
                                   "username": username, "folders": folder or []}
    if since:
        settings["since"] = since
    account = _add(owner, {"kind": "imap", "name": name or f"{username}@{host}",
                           "settings": settings, "secret": secret,
                           "share_level": share_level}, by)
    out.print(f"Account {account.name} added (id {account.id}). Sync it: "
              f"clienthub sync --account {account.id}")


@add_app.command("archive")
def add_archive(
    owner: Annotated[str, typer.Option(help="Email of the staff member whose mail it is")],
    path: Annotated[Path, typer.Option(help="An mbox file, a Maildir or a folder of .eml")],
    share_level: Annotated[str, typer.Option(help="full, subject or metadata")] = "full",
    name: Annotated[str | None, typer.Option(help="A name for the account")] = None,
    by: ByOpt = None,
) -> None:
    """Add a mail archive to import (old mail, exports)."""
    account = _add(owner, {"kind": "mail_archive", "name": name or path.name,
                           "settings": {"path": str(path.resolve())},
                           "share_level": share_level}, by)
    out.print(f"Archive {account.name} added (id {account.id}). Import it: "
              f"clienthub sync --account {account.id}")


@accounts_app.command("list")
def list_accounts() -> None:
    """List every account (secrets are never shown)."""
    from rich.table import Table

    from hub.accounts.service import all_accounts

    def rows(session: Session) -> list[tuple[int, str, str, str, str, bool]]:
        return [(a.id, a.kind, a.name, a.share_level, str(a.owner_user_id), a.secret is not None)
                for a in all_accounts(session)]

    table = Table("id", "kind", "name", "shared", "owner id", "secret")
    for aid, kind, name, share, owner, has_secret in work(rows):
        table.add_row(str(aid), kind, name, share, owner, "stored" if has_secret else "")
    out.print(table)


def sync(
    account: Annotated[int | None, typer.Option(min=1, max=ID_MAX,
                                                help="Only this account id")] = None,
) -> None:
    """Sync every enabled account (or one), showing progress; exits 1 if a stream failed."""
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    from connectors import registry
    from hub.db import make_session_factory
    from hub.flows.sync import accounts_to_sync, sync_account
    from hub.mail.filing import STREAM as FILING
    from hub.mail.filing import waiting
    from hub.process import settle
    from hub.sync.protocol import SourceError

    settle()
    factory = make_session_factory(open_database())
    targets = accounts_to_sync(factory, account)
    if not targets:
        if account is not None:
            raise ClientHubError(f"there is no account {account}; 'clienthub accounts list' "
                                 "shows the accounts and their ids")
        raise ClientHubError("no account to sync; add one with 'clienthub accounts add'")
    failed = 0
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:,.0f} {task.fields[what]}"), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        for account_id, name in targets:
            tasks: dict[str, TaskID] = {}

            def advance(stream: str, n: int, account_id: int = account_id,
                        name: str = name, tasks: dict[str, TaskID] = tasks) -> None:
                if stream not in tasks:
                    # Filing knows how much is left once it has begun: a bar with an end.
                    total = None
                    if stream == FILING:
                        with factory() as session:
                            total = n + waiting(session, account_id)
                    tasks[stream] = bar.add_task(
                        f"{name} {stream}", total=total,
                        what="filed" if stream == FILING else "fetched")
                bar.update(tasks[stream], advance=n)

            try:
                runs = sync_account(factory, registry, account_id, advance)
            except (ClientHubError, SourceError) as exc:
                # Refused by the policy, or by the source before any stream ran (a wrong
                # password, the server down): say so, on a failed run; the others go on.
                failed += 1
                err.print(f"{name}: {exc.message}", style="red", markup=False)
                continue
            for task in tasks.values():
                bar.update(task, total=bar.tasks[task].completed)
            for run in runs:
                line = (f"{name} {run.stream}: {run.status}, {run.items} items, "
                        f"{run.errors} errors, {run.unparsed} kept raw")
                if run.status == "failed":
                    failed += 1
                    err.print(f"[red]{line}: {run.message}[/red]")
                else:
                    out.print(line)
    if failed:
        raise typer.Exit(1)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random key for CLIENTHUB_ENCRYPTION_KEYS."""
    from hub.crypto import generate_key

    out.print(generate_key(), markup=False, highlight=False)


@keys_app.command("rotate")
def keys_rotate(by: ByOpt = None) -> None:
    """Re-encrypt every stored secret with the first key of CLIENTHUB_ENCRYPTION_KEYS.
    Keep the old key listed until this has run."""
    from hub.accounts import service as accounts

    done, total = work(lambda s: accounts.rotate_keys(s, acting(s, by)))
    out.print(f"Re-encrypted {done} of {total} secrets with the current key.")
