"""Bringing the database schema up to date with Alembic, from code rather than a CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def needs_upgrade(engine: Engine) -> bool:
    return current_revision(engine) != head_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
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
