"""``clienthub demo``: the whole product on a fresh SQLite database, then served."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import open_database, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from hub.demo import DemoFirm


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where the demo database is made afresh")] = Path(
        "var/demo"
    ),
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after")
    ] = True,
) -> None:
    """A demo firm on a fresh SQLite database, then the web view and the API on
    127.0.0.1:8000; prints the demo accounts to sign in with."""
    from hub import demo as demo_firm
    from hub.db import make_session_factory, unit_of_work, utcnow
    from hub.settings import get_settings

    data_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"clienthub.sqlite3{suffix}").unlink(missing_ok=True)
    settings = get_settings().model_copy(update={"data_dir": data_dir, "database_url": None})
    engine = open_database(settings)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        firm = demo_firm.build(session, utcnow())
    mail_counts = _demo_mail(factory, data_dir)
    drive = _demo_drive(factory, data_dir, firm.covered_client_id)
    base = f"http://{host}:{port}/api/v1"
    out.print(f"[bold]Demo firm ready[/bold] in {data_dir}/clienthub.sqlite3 "
              f"({mail_counts} mail items imported from {data_dir}/mail)\n")
    roles = ["admin; responsible for 4 clients", "on sick leave, covered by Liisa",
             "payroll; covering Mikko for two weeks"]
    for (email, token), role in zip(firm.tokens.items(), roles, strict=True):
        out.print(f"{firm.names[email]} <{email}> - {role}", soft_wrap=True)
        out.print(f"  token: {token}", markup=False, highlight=False, soft_wrap=True)
    anna, _, liisa = firm.tokens.values()
    out.print(f"\nShared drive in {data_dir}/drive: {drive.files} files indexed; this week "
              f"{drive.busy} was busy. Folder drift: " + ", ".join(
                  f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(drive.drift.items())),
              soft_wrap=True)
    out.print("\nTry:")
    for line in (
        f"curl -s -H 'Authorization: Bearer {liisa}' {base}/me",
        f"curl -s -H 'Authorization: Bearer {liisa}' '{base}/clients?covering=true'",
        f"curl -s -H 'Authorization: Bearer {liisa}' "
        f"{base}/clients/{firm.covered_client_id}/timeline",
        f"curl -s -H 'Authorization: Bearer {liisa}' "
        f"'{base}/clients/{firm.covered_client_id}/files?path=Kirjanpito/'",
        f"curl -s -H 'Authorization: Bearer {anna}' {base}/folders/drift",
    ):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    _print_sign_in(firm, f"http://{host}:{port}/")
    if serve_api:
        import uvicorn

        from api.app import create_app

        out.print(f"\nServing on http://{host}:{port} (the web view at /, the API's docs at "
                  "/docs). Ctrl-C stops.")
        uvicorn.run(
            create_app(settings=settings, engine=engine), host=host, port=port, log_level="warning"
        )


#: Who each demo colleague is, for the table of accounts; the one to start with first.
_WHO = {
    "liisa.nieminen@tilitoimisto-demo.fi":
        "covers Mikko during his sick leave; payroll (start here)",
    "mikko.korhonen@tilitoimisto-demo.fi":
        "the responsible accountant of 5 clients, on sick leave",
    "anna.virtanen@tilitoimisto-demo.fi": "the admin; responsible for 4 clients",
}


def _print_sign_in(firm: DemoFirm, url: str) -> None:
    """The demo accounts and their passwords, to sign in to the web view with."""
    from rich.table import Table

    table = Table(title=f"Sign in at {url} as", title_justify="left", box=None,
                  padding=(0, 2, 0, 0))
    for column in ("Email", "Password", "Who"):
        table.add_column(column, no_wrap=column != "Who")
    for email in _WHO:
        table.add_row(email, firm.passwords[email], f"{firm.names[email]}: {_WHO[email]}")
    out.print()
    out.print(table, markup=False, highlight=False)


def _demo_mail(factory: sessionmaker[Session], data_dir: Path) -> int:
    """Each colleague's demo mailbox as an archive account the admin grants them,
    imported like any other."""
    from connectors import registry
    from hub import demo, demo_mail
    from hub.access.policy import Principal
    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account
    from hub.db import unit_of_work, utcnow
    from hub.flows.sync import sync_account
    from hub.staff.service import find_user_by_email

    paths = demo_mail.write_mailboxes(data_dir / "mail", utcnow())
    accounts = {}
    with unit_of_work(factory) as session:
        admin = Principal.of(find_user_by_email(session, demo.STAFF[0][0]))
        for owner, path in paths.items():
            user = find_user_by_email(session, owner)
            account = create_account(session, admin, AccountIn(
                kind="mail_archive", name=path.name, owner_user_id=user.id,
                settings={"path": str(path.resolve())}))
            accounts[owner] = (account.id, user.id)
    items = sum(run.items for account_id, _ in accounts.values()
                for run in sync_account(factory, registry, account_id))
    key, owner = demo_mail.PRIVATE
    with unit_of_work(factory) as session:
        demo.make_private(session, f"{key}@demo.{demo_mail.FIRM}", accounts[owner][1],
                          utcnow())
    return items


@dataclass(frozen=True, slots=True)
class _DemoDrive:
    files: int
    busy: str
    drift: dict[str, int]


def _demo_drive(factory: sessionmaker[Session], data_dir: Path,
                busy_client_id: int) -> _DemoDrive:
    """The firm's shared drive as a local-folder account of the admin, indexed twice:
    the tree as it was, then after a busy week at one client."""
    import shutil
    from collections import Counter

    from connectors import registry
    from hub import demo, demo_drive
    from hub.access.policy import Principal
    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account
    from hub.db import unit_of_work, utcnow
    from hub.flows.sync import sync_account
    from hub.folders.check import planning_year
    from hub.folders.facts import client_facts
    from hub.folders.service import drift
    from hub.folders.templates import folder_settings
    from hub.staff.service import find_user_by_email
    from hub.timeutil import firm_today

    root = data_dir / "drive"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    now = utcnow()
    with unit_of_work(factory) as session:
        clients = demo.all_clients(session)
        facts = {c.id: client_facts(c) for c in clients}
        year = planning_year(firm_today(), folder_settings(session).year_lead_days)
        demo_drive.write_drive(root, list(facts.values()), now, year)
        admin = find_user_by_email(session, demo.STAFF[0][0])
        account_id = create_account(session, Principal.of(admin), AccountIn(
            kind="local", name="Yhteinen asiakaskansio", settings={"path": str(root.resolve())},
        )).id
    files = sum(run.items for run in sync_account(factory, registry, account_id))
    busy = demo_drive.this_week(root, facts[busy_client_id], now)
    sync_account(factory, registry, account_id)
    with factory() as session:
        found = drift(session, None, firm_today())
    kinds: Counter[str] = Counter(f.kind for d in found for f in d.findings)
    return _DemoDrive(files=files, busy=busy, drift=dict(kinds))
