"""Migrations run up from empty, match the models, and run down again, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import hub.models  # noqa: F401
from hub import schema
from hub.db import Base, make_engine


def _empty_url(db_kind, tmp_path, request):
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}", None
    base = request.getfixturevalue("postgres_url")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS migrate_empty WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE migrate_empty"))
    from sqlalchemy.engine import make_url

    return make_url(base).set(database="migrate_empty").render_as_string(False), admin


def test_up_from_empty_matches_models_and_down_again(db_kind, tmp_path, request):
    url, admin = _empty_url(db_kind, tmp_path, request)
    engine = make_engine(url)
    try:
        assert schema.needs_upgrade(engine)
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision()
        assert not schema.needs_upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM roles")).scalar() == 6
            assert conn.execute(text("SELECT last_hash FROM audit_head")).scalar() == "0" * 64
        schema.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        schema.upgrade(engine)
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS migrate_empty WITH (FORCE)"))
            admin.dispose()
