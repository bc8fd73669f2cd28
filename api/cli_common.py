"""What every ``clienthub`` command shares: the consoles and an up-to-date database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hub import schema
from hub.db import make_engine, make_session_factory, unit_of_work
from hub.settings import Settings, get_settings

out = Console()
err = Console(stderr=True)
T = TypeVar("T")


def open_database(settings: Settings | None = None) -> Engine:
    """The engine, with the schema brought up to date (and a word about it)."""
    settings = settings or get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if schema.needs_upgrade(engine):
        before = schema.current_revision(engine)
        err.print(
            f"[yellow]Upgrading the database schema from {before or 'empty'} to "
            f"{schema.head_revision()}...[/yellow]"
        )
        schema.upgrade(engine)
    return engine


def work(fn: Callable[[Session], T], settings: Settings | None = None) -> T:
    """Run ``fn`` in one transaction on the configured database."""
    with unit_of_work(make_session_factory(open_database(settings))) as session:
        return fn(session)
