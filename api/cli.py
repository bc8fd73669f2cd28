"""The ``clienthub`` command line: set-up, users and tokens, serving, audit, the demo.

Errors are printed as one sentence that says what to do; never as a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from api.cli_common import ID_MAX, ByOpt, acting, err, open_database, out, work
from api.cli_demo import demo
from api.cli_drive import add_local, add_webdav
from api.cli_folders import folders_app
from api.cli_mail import accounts_app, add_app, keys_app, sync
from api.cli_passwords import set_password
from api.cli_status import status
from hub.errors import ClientHubError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(
    no_args_is_help=True,
    help="Client Hub: every client's timeline, shared safely.",
    pretty_exceptions_enable=False,
)
_debug = {"on": False}


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors")]
    = False,
) -> None:
    _debug["on"] = debug

users_app = typer.Typer(no_args_is_help=True, help="Staff users.")
tokens_app = typer.Typer(no_args_is_help=True, help="Personal API tokens.")
clients_app = typer.Typer(no_args_is_help=True, help="The client register.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(clients_app, name="clients")
app.add_typer(audit_app, name="audit")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(folders_app, name="folders")
add_app.command("local")(add_local)
add_app.command("webdav")(add_webdav)
users_app.command("set-password")(set_password)
app.command("sync")(sync)
app.command("status")(status)
app.command("demo")(demo)

T = TypeVar("T")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from hub import schema

    engine = open_database()
    out.print(f"The database is at schema {schema.current_revision(engine)} (newest).")


@app.command()
def init(
    admin_email: Annotated[str | None, typer.Option(help="The first admin's email")] = None,
    admin_name: Annotated[str | None, typer.Option(help="The first admin's name")] = None,
) -> None:
    """Create or upgrade the database and the first admin; prints the admin's token once."""
    from hub.staff import service as staff

    if admin_email is None or admin_name is None:
        if not sys.stdin.isatty():
            raise ClientHubError(
                "give --admin-email and --admin-name (there is no terminal to ask on)"
            )
        admin_email = admin_email or typer.prompt("Admin email")
        admin_name = admin_name or typer.prompt("Admin name")

    def run(session: Session) -> str:
        user = staff.create_user(session, None, email=admin_email, name=admin_name,
                                 is_admin=True)
        return staff.create_token(session, None, user, "init")[1]

    token = work(run)
    out.print(f"Admin {admin_email} created. Their API token (shown only now):")
    out.print(token, markup=False, highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Server processes, each serving its own requests. Default: "
        "CLIENTHUB_SERVE_WORKERS, one per core up to four")] = None,
    max_requests: Annotated[int | None, typer.Option(
        min=1, max=200, help="Requests each process serves at once (each holds one database "
        "connection); the rest wait their turn. Default: CLIENTHUB_MAX_REQUESTS, 1")] = None,
    limit_concurrency: Annotated[int, typer.Option(
        min=1, help="Open connections and requests beyond which new ones are answered 503")]
    = 1024,
    access_log: Annotated[bool, typer.Option(
        help="Log a line for each request (a reverse proxy in front may log them already)")]
    = True,
) -> None:
    """Serve the API (and its docs at /docs)."""
    import uvicorn

    from api.app import create_app, server_config, web_engine
    from hub.settings import get_settings

    open_database().dispose()  # brings the schema up to date
    settings = get_settings()
    if max_requests is not None:
        # The worker processes read their settings afresh, from the environment.
        os.environ["CLIENTHUB_MAX_REQUESTS"] = str(max_requests)
        settings.max_requests = max_requests
    workers = workers or settings.serve_workers
    out.print(f"Serving Client Hub on http://{host}:{port} (API docs at /docs) in {workers} "
              f"process{'es' if workers > 1 else ''}. Ctrl-C stops.")
    options: dict[str, Any] = {"log_level": "info", "limit_concurrency": limit_concurrency,
                               "access_log": access_log}
    if workers == 1:
        engine = web_engine(settings.resolved_database_url, settings.max_requests)
        app = create_app(engine=engine, max_requests=settings.max_requests)
        uvicorn.Server(server_config(app, host, port, **options)).run()
        return
    # Each worker process builds its own app and engine (api.app.served_app); the
    # supervisor restarts one that dies. On SQLite the processes' writes queue on the
    # database's own lock (BEGIN IMMEDIATE, waited out by the busy timeout).
    from uvicorn.supervisors import Multiprocess

    config = server_config("api.app:served_app", host, port, factory=True, workers=workers,
                           **options)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


@users_app.command("add")
def users_add(
    email: str,
    name: Annotated[str, typer.Option(help="Full name")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin")] = False,
    by: ByOpt = None,
) -> None:
    """Add a staff user."""
    from hub.staff import service as staff

    user = work(lambda s: staff.create_user(s, acting(s, by), email=email, name=name,
                                            is_admin=admin))
    out.print(
        f"User {user.email} added (id {user.id}). Give them a token: "
        f"clienthub tokens create {user.email}"
    )


@users_app.command("list")
def users_list() -> None:
    """List staff users."""
    from rich.table import Table

    from hub.staff import service as staff

    def rows(session: Session) -> list[Any]:
        return [
            (u.id, u.email, u.name, u.is_admin, u.is_active)
            for u in staff.list_users(session, limit=200).items
        ]

    table = Table("id", "email", "name", "admin", "active")
    for uid, email, name, is_admin, active in work(rows):
        table.add_row(str(uid), email, name, "yes" if is_admin else "", "yes" if active else "no")
    out.print(table)


@users_app.command("deactivate")
def users_deactivate(email: str, by: ByOpt = None) -> None:
    """Deactivate a user: their tokens stop working at once; history keeps their name."""
    from hub.staff import service as staff

    work(lambda s: staff.deactivate_user(s, acting(s, by), staff.find_user_by_email(s, email)))
    out.print(f"User {email} deactivated.")


@tokens_app.command("create")
def tokens_create(
    email: str, name: Annotated[str, typer.Option(help="A label for the token")] = "",
    by: ByOpt = None,
) -> None:
    """Create a token for a user and print it (it is not shown again)."""
    from hub.staff import service as staff

    def run(session: Session) -> str:
        principal = acting(session, by)
        return staff.create_token(session, principal, staff.find_user_by_email(session, email),
                                  name)[1]

    token = work(run)
    out.print(token, markup=False, highlight=False)


@tokens_app.command("list")
def tokens_list(email: str) -> None:
    """List a user's tokens (never the tokens themselves)."""
    from rich.table import Table

    from hub.staff import service as staff

    def rows(session: Session) -> list[Any]:
        user = staff.find_user_by_email(session, email)
        return [
            (t.id, t.prefix, t.name, t.created_at, t.last_used_at, t.revoked_at)
            for t in staff.list_tokens(session, user)
        ]

    table = Table("id", "starts with", "name", "created", "last used", "revoked")
    for tid, prefix, name, created, used, revoked in work(rows):
        table.add_row(
            str(tid),
            prefix + "...",
            name,
            f"{created:%Y-%m-%d %H:%M}",
            f"{used:%Y-%m-%d %H:%M}" if used else "",
            f"{revoked:%Y-%m-%d %H:%M}" if revoked else "",
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(min=1, max=ID_MAX)],
                  by: ByOpt = None) -> None:
    """Revoke a token by its id (see 'clienthub tokens list EMAIL'); takes effect at once."""
    from hub.staff import service as staff

    work(lambda s: staff.revoke_token(s, acting(s, by), token_id))
    out.print(f"Token {token_id} revoked.")


@clients_app.command("list")
def clients_list(
    q: Annotated[str | None, typer.Option(help="Search name or business ID")] = None,
    status: Annotated[str | None, typer.Option(help="prospect, active or archived")] = None,
) -> None:
    """List the client register (names and numbers, no timelines)."""
    from rich.table import Table

    from hub.clients import service
    from hub.db import utcnow

    def rows(session: Session) -> list[Any]:
        page = service.list_clients(
            session, None, utcnow(), q=q, status=status, limit=200, register=True
        )
        return [(c.customer_number, c.name, c.business_id, c.status, c.id) for c in page.items]

    table = Table("number", "name", "business ID", "status", "id")
    for number, name, bid, st, cid in work(rows):
        table.add_row(str(number), name, bid or "", st, str(cid))
    out.print(table)


@clients_app.command("add")
def clients_add(
    name: str,
    business_id: Annotated[str | None, typer.Option(help="Y-tunnus, e.g. 1572860-0")] = None,
    group_id: Annotated[int | None, typer.Option(min=1, max=ID_MAX, help="Client group id")] = None,
    status: Annotated[str, typer.Option(help="prospect, active or archived")] = "active",
    domain: Annotated[list[str] | None, typer.Option(help="Client mail domain")] = None,
    by: ByOpt = None,
) -> None:
    """Add a client; its customer number comes from its group unless given."""
    from pydantic import ValidationError

    from hub.clients.schemas import ClientIn
    from hub.errors import InvalidInput
    from hub.flows import clients as flows

    try:
        data = ClientIn(
            name=name,
            business_id=business_id,
            group_id=group_id,
            status=status,
            domains=domain or [],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    client = work(lambda s: flows.create_client(s, acting(s, by), data))
    out.print(
        f"Client {client.name} added with customer number {client.customer_number} "
        f"(id {client.id})."
    )


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[Path | None, typer.Option(
        help="The anchor file to check against (default: CLIENTHUB_AUDIT_ANCHOR_PATH)")] = None,
    head: Annotated[list[str] | None, typer.Option(
        help="A head you kept from 'clienthub audit head' (ID:HASH); repeatable")] = None,
) -> None:
    """Check the audit trail's seals, and the trail against its anchors and the heads you
    kept; exits 1 if any row was changed or removed, or could not be checked."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    from hub.access import verification
    from hub.access.anchors import parse_head

    kept = [parse_head(value) for value in head or []]
    if anchor is not None and not anchor.is_file():
        raise ClientHubError(f"there is no anchor file at {anchor}; give the file that "
                             "CLIENTHUB_AUDIT_ANCHOR_PATH names (default: "
                             "audit-anchors.log in the data dir)")

    def run(session: Session) -> verification.Verdict:
        with Progress(TextColumn("Checking the audit trail"), BarColumn(),
                      MofNCompleteColumn(), console=err, transient=True) as bar:
            task = bar.add_task("verify", total=verification.size(session))
            verdict = verification.verify(session, lambda n: bar.update(task, completed=n),
                                          anchor_path=anchor, heads=kept)
            bar.update(task, completed=verdict.rows)
            return verdict

    verdict = work(run)
    for warning in verdict.warnings:
        err.print(Text.assemble(("Warning: ", "yellow"), warning), highlight=False)
    if verdict.intact:
        out.print(f"[green]The audit trail is intact:[/green] {verdict.rows} rows checked "
                  f"({verdict.unkeyed} unkeyed), against {verdict.anchors} anchors.")
        if verdict.unchecked:
            err.print("[red]Some rows could not be checked[/red]: add their keys back and "
                      "run this again.")
            raise typer.Exit(1)
        return
    for b in verdict.breaks:
        err.print(Text.assemble((f"Row {b.entry_id}: ", "red"), b.problem), highlight=False)
    err.print(
        f"[red]The audit trail has been tampered with ({len(verdict.breaks)} problems in "
        f"{verdict.rows} rows).[/red] Restore the audit table from a backup and investigate."
    )
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """Print the trail's newest row as ID:HASH. Keep it somewhere the database's admins
    cannot write; 'clienthub audit verify --head ID:HASH' checks the trail still has it."""
    from hub.access import audit

    newest = work(audit.head)
    out.print(f"{newest.entry_id}:{newest.hash}", markup=False, highlight=False)
    err.print("Keep the line above where the database's admins cannot write; 'clienthub "
              "audit verify --head ID:HASH' checks that the trail still has that row "
              f"(trail {newest.trail or 'not yet keyed'}).", markup=False, highlight=False)


@audit_app.command("seal")
def audit_seal() -> None:
    """Append a keyed row now (it seals every row before it, keyed or not, and is anchored)
    and print the new head to keep, as 'clienthub audit head' does."""
    from hub.access import audit

    work(audit.seal)
    audit_head()


def main() -> None:
    try:
        app()
    except ClientHubError as exc:
        err.print(f"[red]Error:[/red] {exc.message}")
        sys.exit(1)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError  # here, not for every command's start

        if isinstance(exc, OperationalError):
            err.print(
                "[red]Error:[/red] cannot reach the database "
                f"({exc.orig.__class__.__name__ if exc.orig else 'connection failed'}); check "
                "CLIENTHUB_DATABASE_URL and that the server is running"
            )
            sys.exit(1)
        if _debug["on"]:
            raise
        err.print(
            f"[red]Unexpected error:[/red] {exc.__class__.__name__}: {exc}. Run the same "
            "command with 'clienthub --debug ...' for the details and report them."
        )
        sys.exit(2)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
