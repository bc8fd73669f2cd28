"""What every ``clienthub`` command shares: the consoles, an up-to-date database, and who
a change is made by.

A command that changes something acts as the admin its ``--by EMAIL`` names or, without
it, as the command line on the server: an admin's rights, and on the audit trail a row
with no actor whose detail says ``via: "command line"``.

Every command's module is loaded to build ``clienthub --help``, so what a command needs
(the ORM, the services, Alembic) is imported when it runs, never at module level: the
command line starts in the time Typer and Rich take, whatever the command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from hub.errors import ClientHubError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from hub.access.policy import Principal
    from hub.settings import Settings

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

#: The largest id an option takes: ``hub.schemas.ID_MAX``, repeated here because that
#: module loads pydantic, which no command's signature should wait for (a test holds
#: the two equal).
ID_MAX = 2**31 - 1


ByOpt = Annotated[str | None, typer.Option(
    "--by", help="Email of the admin doing this; without it the audit trail names the "
                 "command line")]


def admin_named(session: Session, email: str) -> Principal:
    """The active admin ``email`` names; refused, saying so, for anyone else."""
    from hub.access.policy import Principal
    from hub.staff.service import find_user_by_email

    principal = Principal.of(find_user_by_email(session, email))
    if not (principal.is_admin and principal.is_active):
        raise ClientHubError(f"{email} is not an active admin; --by names the admin doing "
                             "this ('clienthub users list' shows who is one)")
    return principal


def acting(session: Session, by: str | None) -> Principal | None:
    """Who a command's change is made by: the admin ``--by`` names, or (``None``) the
    command line on the server."""
    return admin_named(session, by) if by is not None else None


def open_database(settings: Settings | None = None) -> Engine:
    """The engine, with the schema brought up to date (and a word about it)."""
    import hub.models  # noqa: F401 - every table: the rows a command writes refer to any
    from hub import schema
    from hub.db import make_engine
    from hub.settings import get_settings

    settings = settings or get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if not schema.is_current(engine) and schema.needs_upgrade(engine):
        before = schema.current_revision(engine)
        err.print(
            f"[yellow]Upgrading the database schema from {before or 'empty'} to "
            f"{schema.head_revision()}...[/yellow]"
        )
        schema.upgrade(engine)
    return engine


def work(fn: Callable[[Session], T], settings: Settings | None = None) -> T:
    """Run ``fn`` in one transaction on the configured database."""
    from hub.db import make_session_factory, unit_of_work

    with unit_of_work(make_session_factory(open_database(settings))) as session:
        return fn(session)
