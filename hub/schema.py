"""Bringing the database schema up to date with Alembic, from code rather than a CLI.

Alembic is loaded only when there is something to do: :func:`is_current` tells an
up-to-date database by one read of its version row against the migration files' own
``revision`` lines (every ``clienthub`` command asks, and loading Alembic would be most
of a quick command's time). SQLAlchemy too is loaded only by what uses it:
``clienthub status`` reads :func:`head_from_files` through its driver alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION_LINE = re.compile(
    r"^(down_)?revision\s*=\s*(?:'([^'\n]*)'|\"([^\"\n]*)\"|(None))\s*$", re.MULTILINE)


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def needs_upgrade(engine: Engine) -> bool:
    return current_revision(engine) != head_revision()


def head_from_files() -> str | None:
    """The newest revision as the migration files' ``revision`` and ``down_revision``
    lines tell it, without Alembic; None unless they form one line of history (a merge,
    a branch or an unusual file: then only Alembic can tell)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = {m[1] or "": m[2] or m[3] or m[4]
                 for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if set(found) != {"", "down_"} or found[""] in (None, "None"):
            return None
        revisions.add(found[""])
        if found["down_"] != "None":
            parents.add(found["down_"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision, told without loading Alembic when
    it can be; False means "ask :func:`needs_upgrade`", not that it surely needs one."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    head = head_from_files()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no version table yet (or no database): Alembic looks closer
        return False
    return [row[0] for row in stored] == [head]


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _migrate(engine: Engine, step: Callable[[Config], None]) -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg)
            return
        # SQLite alters a table by rebuilding it: the old one is dropped, and with foreign
        # keys on, that drop deletes every row pointing at it (ON DELETE CASCADE). The
        # pragma only takes effect outside a transaction. The driver would also run DDL
        # outside any transaction; an explicit BEGIN makes a failed migration undo
        # itself instead of leaving a half-altered schema.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.commit()
        legacy = raw.isolation_level
        raw.isolation_level = None
        try:
            with conn.begin():
                conn.exec_driver_sql("BEGIN")
                cfg.attributes["connection"] = conn
                step(cfg)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"the migration would leave {len(broken)} rows pointing at missing "
                        f"rows (first: {tuple(broken[0])}); it was undone, the database "
                        "is as it was")
        finally:
            raw.isolation_level = legacy
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
