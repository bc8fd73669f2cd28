"""What every ``clienthub`` command shares: the consoles and an up-to-date database.

Every command's module is loaded to build ``clienthub --help``, so what a command needs
(the ORM, the services, Alembic) is imported when it runs, never at module level: the
command line starts in the time Typer and Rich take, whatever the command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from hub.settings import Settings

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

#: The largest id an option takes: ``hub.schemas.ID_MAX``, repeated here because that
#: module loads pydantic, which no command's signature should wait for (a test holds
#: the two equal).
ID_MAX = 2**31 - 1


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
