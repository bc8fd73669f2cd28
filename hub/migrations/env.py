"""Alembic environment: runs on the connection handed in by hub.schema, or on the URL."""

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

import hub.models  # noqa: F401 - registers every table on Base.metadata
from hub.db import Base
from hub.search.schema import include_name

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _run_on(conn)


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # the search index is kept outside the models
    )
    with context.begin_transaction():
        context.run_migrations()


run()
