"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each test gets a database of its own, copied from a template that was migrated once per
session (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests can
commit freely - as the audit trail does - without seeing each other.

The suite runs as the ``test`` environment, whose accounts may reach loopback (the peers
listen there), with pytest's temporary folder as the one server root archives and local
drives may lie under. A command the tests start as a process of its own is given what it
needs in its own environment.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hub import schema
from hub.db import make_engine, make_session_factory
from hub.settings import get_settings
from tests.peers.postgres import PeerMissing, postgres_server
from tests.peers.webdav import WebDavPeer, rclone_server, wsgidav_server

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def peer_missing(why: str) -> None:
    """Under CI a missing peer fails the run; on a laptop the test is skipped, loudly."""
    if IN_CI:
        pytest.fail(f"required test peer missing under CI: {why}", pytrace=False)
    pytest.skip(f"test peer missing: {why}")


@pytest.fixture(scope="session", autouse=True)
def suite_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLIENTHUB_ENVIRONMENT", "test")
        patch.setenv("CLIENTHUB_SERVER_ROOTS", str(tmp_path_factory.getbasetemp()))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module", params=["rclone", "wsgidav"])
def webdav_peer(request: pytest.FixtureRequest) -> Iterator[WebDavPeer]:
    """Each WebDAV server make in turn (wsgidav, ``rclone serve webdav``), so that the
    client is not tuned to one server's quirks; under CI a missing one fails the run."""
    servers = {"wsgidav": wsgidav_server, "rclone": rclone_server}
    try:
        with servers[request.param]() as peer:
            yield peer
    except PeerMissing as exc:
        peer_missing(str(exc))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with postgres_server() as url:
            yield url
    except PeerMissing as exc:
        peer_missing(str(exc))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS clienthub_template"))
        conn.execute(text("CREATE DATABASE clienthub_template"))
    admin.dispose()
    url = make_url(postgres_url).set(database="clienthub_template")
    engine = make_engine(url.render_as_string(hide_password=False))
    schema.upgrade(engine)
    engine.dispose()
    return "clienthub_template"


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "test.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@contextmanager
def _database(db_kind: str, request: pytest.FixtureRequest, where: Path) -> Iterator[str]:
    """A database of its own, copied from the migrated template."""
    if db_kind == "sqlite":
        where.mkdir(parents=True, exist_ok=True)
        yield _fresh_sqlite(request.getfixturevalue("sqlite_template"), where)
        return
    base = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _database(db_kind, request, tmp_path) as url:
        yield url


@pytest.fixture
def second_database_url(db_kind: str, request: pytest.FixtureRequest,
                        tmp_path: Path) -> Iterator[str]:
    """Another database of the same kind, for tests that compare two runs."""
    with _database(db_kind, request, tmp_path / "second") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(engine=engine)) as client:
        yield client
