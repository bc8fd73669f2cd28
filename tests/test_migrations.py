"""Migrations run up from empty, match the models, and run down again, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

import hub.models  # noqa: F401
from hub import schema
from hub.db import Base, make_engine
from hub.search.schema import include_name


@pytest.fixture
def empty_engine(db_kind, tmp_path, request) -> Iterator[Engine]:
    """An engine on an empty database of the kind under test, dropped afterwards."""
    admin = None
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        base = request.getfixturevalue("postgres_url")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS migrate_empty WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE migrate_empty"))
        url = make_url(base).set(database="migrate_empty").render_as_string(False)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS migrate_empty WITH (FORCE)"))
            admin.dispose()


def test_up_from_empty_matches_models_and_down_again(empty_engine):
    engine = empty_engine
    assert schema.needs_upgrade(engine)
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    assert not schema.needs_upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"include_name": include_name}), Base.metadata)
    assert diff == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roles")).scalar() == 6
        assert conn.execute(text("SELECT last_hash FROM audit_head")).scalar() == "0" * 64
    schema.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(engine)


def test_the_drive_index_is_regrouped_into_folders_and_a_re_list_finds_nothing_new(
        empty_engine, tmp_path):
    """A drive indexed file by file (revision 0005) keeps its index through 0006: a row
    per folder with its files, and the local folder's next sync, which lists everything
    again, writes nothing to the timeline."""
    from datetime import UTC, datetime

    from connectors.local import LocalFolderConnector
    from hub.accounts.models import Account
    from hub.db import make_session_factory
    from hub.drive import index
    from hub.drive.models import ClientRoot
    from hub.drive.sink import DriveSink
    from hub.flows.sync import account_row
    from hub.sync.models import SyncRun
    from hub.sync.runner import Runner
    from tests import factories as f

    root = tmp_path / "drive"
    (root / "1001 Oy Esimerkki Ab" / "Kirjanpito").mkdir(parents=True)
    files = {"1001 Oy Esimerkki Ab/Kirjanpito/tosite.pdf": b"tosite",
             "1001 Oy Esimerkki Ab/muistio.txt": b"m", "irrallinen.txt": b"x"}
    for rel, content in files.items():
        (root / rel).write_bytes(content)
    engine = empty_engine
    schema.upgrade(engine, "0005")
    when = datetime(2026, 3, 1, 12, tzinfo=UTC).replace(tzinfo=None)
    # The tables these rows go to are the same at 0005 as now, but for users (0010 added
    # columns), whose row is written as 0005 had it.
    with make_session_factory(engine)() as session:
        owner_id = session.execute(text(
            "INSERT INTO users (email, name, is_admin, is_active, created_at) VALUES "
            "('owner@firm.test', 'Owner', false, true, :w) RETURNING id"), {"w": when}
        ).scalar_one()
        client = f.client(session, name="Oy Esimerkki Ab")
        client.customer_number = 1001
        account = Account(owner_user_id=owner_id, kind="local", name="d",
                          settings={"path": str(root)})
        session.add(account)
        session.flush()
        session.add(ClientRoot(account_id=account.id, path="1001 Oy Esimerkki Ab/",
                               client_id=client.id, origin="auto"))
        session.add(SyncRun(account_id=account.id, stream="drive", status="ok",
                            finished_at=datetime.now(UTC)))
        session.commit()
        ids = (account.id, client.id)
    assert ids == (1, 1)
    with engine.begin() as conn:
        paths = ["1001 Oy Esimerkki Ab/", "1001 Oy Esimerkki Ab/Kirjanpito/", *files]
        for number, path in enumerate(paths, start=1):
            disk = root / path
            info = disk.stat()
            conn.execute(text(
                "INSERT INTO source_records (id, account_id, stream, external_id, kind, "
                "occurred_at, data, updated_at) VALUES (:i, 1, 'drive', :p, :k, :w, '{}', :w)"),
                {"i": number, "p": path, "k": "folder" if path.endswith("/") else "file",
                 "w": when})
            parent = path.rstrip("/").rpartition("/")[0]
            modified = datetime.fromtimestamp(info.st_mtime_ns / 1e9, UTC).replace(
                tzinfo=None, microsecond=info.st_mtime_ns // 1000 % 1_000_000)
            conn.execute(text(
                "INSERT INTO drive_items (account_id, path, parent, name, is_folder, size, "
                "modified, etag, stable_id, client_id, source_record_id, created_at) VALUES "
                "(1, :p, :parent, :n, :f, :s, :m, :e, :st, :c, :r, :w)"),
                {"p": path, "parent": f"{parent}/" if parent else "",
                 "n": path.rstrip("/").rpartition("/")[2], "f": path.endswith("/"),
                 "s": None if path.endswith("/") else info.st_size, "m": modified,
                 "e": f"{info.st_mtime_ns}-{info.st_size}", "st": f"inode:{info.st_ino}",
                 "c": 1 if path.startswith("1001") else None, "r": number, "w": when})
        conn.execute(text("INSERT INTO sync_cursors (account_id, stream, cursor, updated_at) "
                          "VALUES (1, 'drive', '{\"version\": 1, \"dirs\": {}}', :w)"),
                     {"w": when})
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        found = {e.path: e for e in index.entries(session, 1)}
        assert set(found) == set(paths)
        assert found["1001 Oy Esimerkki Ab/Kirjanpito/tosite.pdf"].size == 6
        assert found["1001 Oy Esimerkki Ab/Kirjanpito/tosite.pdf"].client_id == 1
        assert found["irrallinen.txt"].client_id is None
        assert found["irrallinen.txt"].etag is None  # a local drive's ETags went
        assert session.execute(text("SELECT count(*) FROM sync_cursors")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM source_records")).scalar() == 0
    runner = Runner(factory, dict.fromkeys(("file", "folder", "listing"), DriveSink()),
                    account=account_row)
    [run] = runner.run(1, LocalFolderConnector(root))
    assert run.status == "ok" and run.items == 3  # the root, the client folder, Kirjanpito
    with factory() as session:
        assert session.execute(text("SELECT count(*) FROM timeline_entries")).scalar() == 0
        assert {e.path for e in index.entries(session, 1)} == set(paths)


def test_mail_keeps_its_copies_people_and_links_through_the_raw_id_change(
        db_kind, empty_engine):
    """Revision 0005 rebuilds mail_messages on SQLite; the rows pointing at a message
    (copies, participants, client links) must all survive, and foreign keys are on again
    afterwards."""
    from datetime import datetime

    engine = empty_engine
    schema.upgrade(engine, "0004")
    w = {"w": datetime(2026, 3, 1, 12), "raw": b"raw"}
    rows = [
        "INSERT INTO users (id, email, name, is_admin, is_active, created_at) "
        "VALUES (1, 'a@firm.fi', 'A', false, true, :w)",
        "INSERT INTO accounts (id, owner_user_id, kind, name, settings, share_level, "
        "enabled, created_at) VALUES (1, 1, 'imap', 'm', '{}', 'full', true, :w)",
        "INSERT INTO source_records (id, account_id, stream, external_id, kind, "
        "occurred_at, target_id, data, updated_at) "
        "VALUES (1, 1, 'INBOX', '7:1', 'message', :w, 1, '{}', :w)",
        "INSERT INTO mail_threads (id, subject_key, is_private, private_to, created_at) "
        "VALUES (1, 'tilinpäätös', false, '[]', :w)",
        "INSERT INTO mail_messages (id, message_key, thread_id, subject, sender_name, "
        "sender_address, sent_at, snippet, text, html, headers, attachments, "
        "auto_submitted, headers_only, parse_failed, problems, internal_only, created_at) "
        "VALUES (1, '<m1@client.fi>', 1, 'Tilinpäätös', 'Asiakas', 'a@client.fi', :w, "
        "'', 'hei', '', '{}', '[]', false, false, false, '[]', false, :w)",
        "INSERT INTO mail_raw (message_id, sha256, raw) VALUES (1, 'x', :raw)",
        "INSERT INTO mail_copies (id, message_id, account_id, source_record_id, folder, "
        "flags) VALUES (1, 1, 1, 1, 'INBOX', '[]')",
        "INSERT INTO mail_participants (id, message_id, address, domain, name, role) "
        "VALUES (1, 1, 'a@client.fi', 'client.fi', 'Asiakas', 'from')",
        "INSERT INTO clients (id, name, name_key, status, customer_number, summary, "
        "created_at, updated_at) VALUES (1, 'Asiakas Oy', 'asiakas oy', 'active', 1001, "
        "'', :w, :w)",
        "INSERT INTO message_client_links (id, message_id, client_id, origin, removed, "
        "created_at) VALUES (1, 1, 1, 'domain', false, :w)",
    ]
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(text(sql), {k: v for k, v in w.items() if f":{k}" in sql})
    schema.upgrade(engine)
    with engine.connect() as conn:
        count = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                 for t in ("mail_messages", "mail_copies", "mail_participants",
                           "message_client_links", "mail_raw")}
        assert count == dict.fromkeys(count, 1)
        assert conn.execute(text("SELECT raw_id FROM mail_messages")).scalar() == 1
        assert conn.execute(text("SELECT raw FROM mail_raw")).scalar() == b"raw"
        if db_kind == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_the_head_read_from_the_files_is_alembics():
    # Every command tells an up-to-date database by the files' revision lines, without
    # Alembic: they must name the head Alembic would.
    assert schema.head_from_files() == schema.head_revision()


def test_is_current_only_at_the_head(empty_engine):
    engine = empty_engine
    assert not schema.is_current(engine)  # no version table yet
    schema.upgrade(engine, "0001")
    assert not schema.is_current(engine)
    schema.upgrade(engine)
    assert schema.is_current(engine)
