"""The sync's health as ``GET /sync/status`` and ``clienthub status`` show it: runs written
by the sync code itself (Dovecot behind the IMAP accounts), read through the API's
session and through the bare driver, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.errors import ConfigurationError, InvalidInput
from hub.flows.sync import sync_status
from hub.readonly_db import read_only
from hub.settings import get_settings
from hub.sync import status as health
from hub.sync.leases import acquire_lease, holder_name, release_lease
from hub.sync.models import SyncRun
from hub.sync.protocol import SourceError
from hub.sync.runs import close_interrupted, close_run, open_run
from tests import factories as f
from tests.connectors.conftest import dovecot  # noqa: F401
from tests.mail.conftest import mail, mbox_account  # noqa: F401
from workers.sync import sync_account

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "api.cli"]
CLIENT = "Jari Mäkinen <jari@rakennusmakinen.fi>"


def clienthub_status(database_url: str | None, where: Path, *args: str,
                     **settings: str) -> subprocess.CompletedProcess[str]:
    """``clienthub status`` as a monitoring check runs it: a process of its own, no
    terminal, the database named by the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "CLIENTHUB_DATA_DIR": str(where)}
    if database_url is not None:
        env["CLIENTHUB_DATABASE_URL"] = database_url
    env |= {f"CLIENTHUB_{name.upper()}": value for name, value in settings.items()}
    return subprocess.run([*CLI, "status", *args], env=env, cwd=where, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def as_json(result: subprocess.CompletedProcess[str]) -> dict:
    report = json.loads(result.stdout)
    report["by_name"] = {a["name"]: a for a in report["accounts"]}
    return report


@contextmanager
def changed_settings(**values: str) -> Iterator[None]:
    """The settings as the server's administrator changed them, for what runs inside."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(f"CLIENTHUB_{name.upper()}", value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()


def add(session, owner, kind: str, name: str, settings: dict, secret: str | None = None):
    """An account added as the command line on the server adds one."""
    account = create_account(session, None, AccountIn(
        kind=kind, name=name, owner_user_id=owner.id, settings=settings, secret=secret))
    session.commit()
    return account


def streams(account: dict) -> dict[str, str]:
    return {s["stream"]: s["status"] for s in account["streams"]}


def test_the_firms_accounts_as_the_api_and_the_command_line_show_them(
        session, session_factory, database_url, tmp_path, dovecot, api):  # noqa: F811
    box = dovecot.add_user()
    box.append("INBOX", [mail(f"s{i}", CLIENT, [f"{box.name}@x.fi"], f"Viesti {i}", "runko")
                         for i in range(3)])
    owner, admin, other = f.user(session, name="Mikko"), f.user(session, admin=True), f.user(
        session)
    imap = {"host": "127.0.0.1", "port": dovecot.port, "security": "plain",
            "username": box.name}
    (tmp_path / "drive").mkdir()
    (tmp_path / "drive" / "muistio.txt").write_text("x")
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(b"")
    mailbox_ok = add(session, owner, "imap", "Mikko IMAP", imap, box.password)
    refused_login = add(session, owner, "imap", "Wrong password", imap, "not-the-password")
    archive = add(session, owner, "mail_archive", "Archive", {"path": str(mbox)})
    drive = add(session, owner, "local", "Drive", {"path": str(tmp_path / "drive")})
    sealed = add(session, owner, "imap", "Sealed", imap, box.password)
    off = add(session, owner, "local", "Off", {"path": str(tmp_path / "drive")})
    off.enabled = False
    session.commit()

    for account in (mailbox_ok, archive, drive):
        runs = sync_account(session_factory, account.id)
        assert runs and all(r.status == "ok" for r in runs), [r.message for r in runs]
    with pytest.raises(SourceError, match="refused the login"):
        sync_account(session_factory, refused_login.id)
    # The administrator narrows the server roots: the drive is refused at its next sync.
    with changed_settings(server_roots=str(tmp_path / "elsewhere")), \
            pytest.raises(InvalidInput, match="outside the folders"):
        sync_account(session_factory, drive.id)
    # The secret key changed without the old one kept: the password does not decrypt.
    with changed_settings(secret_key="another-key-than-the-one-it-was-sealed-with"), \
            pytest.raises(ConfigurationError, match="cannot be decrypted"):
        sync_account(session_factory, sealed.id)

    # Through the bare driver, as the command line reads it.
    with read_only(database_url) as db:
        seen = health.read(db.fetch, db.paramstyle)
    by_name = {a.name: a for a in seen.accounts}
    assert seen.verdict == health.FAILING
    ok = by_name["Mikko IMAP"]
    assert ok.verdict == health.HEALTHY and ok.findings == [] and not ok.running
    inbox = next(r for r in ok.runs if r.stream == "mail:INBOX")
    assert (inbox.status, inbox.items) == ("ok", 3)
    assert ok.last_success_at is not None and ok.last_success_at <= seen.checked_at
    assert [(r.stream, r.status) for r in by_name["Wrong password"].runs] == [
        (health.CONNECT, "failed")]
    assert "check the user" in by_name["Wrong password"].runs[0].message
    assert [(r.stream, r.status) for r in by_name["Drive"].runs] == [
        (health.CONNECT, "failed"), ("drive", "ok")]
    [refusal] = by_name["Drive"].findings
    assert refusal.severity == health.FAILING and "CLIENTHUB_SERVER_ROOTS" in refusal.text
    assert "cannot be decrypted" in by_name["Sealed"].runs[0].message
    assert "CLIENTHUB_ENCRYPTION_KEYS" in by_name["Sealed"].runs[0].message
    assert (by_name["Off"].judged, by_name["Off"].runs, by_name["Off"].findings) == (
        False, [], [])
    assert by_name["Archive"].verdict == health.HEALTHY

    # The API reads the same, through its session; each user sees their own accounts.
    via_flow = sync_status(session, Principal.of(admin))
    assert [(s.account.id, s.runs, s.running) for s in via_flow] == [
        (a.id, a.runs, a.running) for a in seen.accounts]
    tokens = {u.id: f.token(session, u) for u in (admin, owner, other)}
    session.commit()

    def api_status(user) -> list[dict]:
        got = api.get("/api/v1/sync/status",
                      headers={"Authorization": f"Bearer {tokens[user.id]}"})
        assert got.status_code == 200, got.text
        return got.json()["items"]

    shown = api_status(admin)
    assert [s["account_id"] for s in shown] == [a.id for a in seen.accounts]
    assert {s["name"]: streams(s) for s in shown}["Drive"] == {health.CONNECT: "failed",
                                                               "drive": "ok"}
    assert set(shown[0]) == {"account_id", "name", "running", "streams", "waiting", "held"}
    assert [s["name"] for s in api_status(owner)] == [a.name for a in seen.accounts]
    assert api_status(other) == []

    # The command line: a table, plain text when not a terminal, and exit code 1.
    table = clienthub_status(database_url, tmp_path)
    assert table.returncode == 1, table.stderr
    assert "\x1b" not in table.stdout and "╭" not in table.stdout
    lines = table.stdout.splitlines()
    [drive_row] = [line for line in lines if f"#{drive.id} Drive (local)" in line]
    assert drive_row.split()[3:6] == ["failing", health.CONNECT, "failed"]
    assert any(line.startswith(f"Failing: #{drive.id} Drive: connect: the last run failed: ")
               and "CLIENTHUB_SERVER_ROOTS" in line for line in lines)
    assert f"  Next: do what the error says, then run 'clienthub sync --account {drive.id}'" \
        in table.stdout
    assert lines[-1] == "Sync is failing: 3 of 5 synced accounts."
    assert box.password not in table.stdout

    report = as_json(clienthub_status(database_url, tmp_path, "--json"))
    assert report["verdict"] == "failing"
    accounts = report["by_name"]
    assert {name: a["verdict"] for name, a in accounts.items()} == {
        "Mikko IMAP": "healthy", "Wrong password": "failing", "Archive": "healthy",
        "Drive": "failing", "Sealed": "failing", "Off": None}
    assert accounts["Off"]["enabled"] is False and accounts["Off"]["judged"] is False
    assert accounts["Mikko IMAP"]["kind"] == "imap"
    assert accounts["Drive"]["streams"][0]["message"] == refusal.text.split(
        "the last run failed: ", 1)[1]
    assert accounts["Archive"]["seconds_since_success"] >= 0

    # Back inside the roots, the next sync gets past the refusal, which it supersedes.
    sync_account(session_factory, drive.id)
    again = as_json(clienthub_status(database_url, tmp_path, "--json"))
    assert streams(again["by_name"]["Drive"]) == {"drive": "ok"}
    assert again["by_name"]["Drive"]["verdict"] == "healthy"


def _age(session, account_id: int, hours: float) -> None:
    """The account's runs as if they had happened ``hours`` earlier."""
    for run in session.query(SyncRun).filter(SyncRun.account_id == account_id):
        run.started_at -= timedelta(hours=hours)
        run.finished_at = run.finished_at and run.finished_at - timedelta(hours=hours)
    session.commit()


def test_a_sync_gone_quiet_and_an_account_never_synced(session, session_factory, database_url,
                                                       tmp_path, mbox_account):  # noqa: F811
    owner = f.user(session)
    quiet = mbox_account(owner, [mail("q1", CLIENT, [owner.email], "Hei", "x")], name="quiet")
    sync_account(session_factory, quiet.id)
    _age(session, quiet.id, 30)
    never = mbox_account(owner, [], name="never")
    session.execute(update(Account).where(Account.id == never.id).values(
        created_at=datetime.now(UTC) - timedelta(days=3)))
    mbox_account(owner, [], name="fresh")
    session.commit()

    report = clienthub_status(database_url, tmp_path, "--json")
    assert report.returncode == 1
    accounts = as_json(report)["by_name"]
    [(severity, text)] = [(x["severity"], x["text"]) for x in accounts["quiet"]["findings"]]
    assert severity == "failing" and text == "no successful sync for 1 d 6 h (more than 1 d)"
    assert 30 * 3600 <= accounts["quiet"]["seconds_since_success"] < 31 * 3600
    assert [x["text"] for x in accounts["never"]["findings"]] == [
        "never synced successfully since it was added 3 d ago"]
    assert accounts["fresh"]["verdict"] == "warnings"
    assert accounts["fresh"]["findings"][0]["text"].startswith("not synced yet")

    # A longer threshold: only the account never synced in three days still fails...
    longer = as_json(clienthub_status(database_url, tmp_path, "--json", "--stale-after", "48"))
    assert {n: a["verdict"] for n, a in longer["by_name"].items()} == {
        "quiet": "healthy", "never": "failing", "fresh": "warnings"}
    # ...and past that, warnings alone exit 0.
    calm = clienthub_status(database_url, tmp_path, "--stale-after", "100")
    assert calm.returncode == 0, calm.stdout + calm.stderr
    assert calm.stdout.splitlines()[-1] == "Sync is working, with warnings: 3 synced accounts."


def test_a_sync_running_now_and_one_whose_process_stopped(session, session_factory,
                                                          database_url, tmp_path,
                                                          mbox_account):  # noqa: F811
    owner = f.user(session)
    account = mbox_account(owner, [mail("r1", CLIENT, [owner.email], "Hei", "x")])
    sync_account(session_factory, account.id)
    # A sync holds the lease and has begun its run, as the runner does.
    holder = holder_name()
    acquire_lease(session_factory, account.id, holder)
    open_run(session_factory, account.id, "archive")
    shown = clienthub_status(database_url, tmp_path)
    assert shown.returncode == 0 and holder in shown.stdout
    [row] = [line for line in shown.stdout.splitlines() if line.startswith(f"#{account.id} ")]
    assert row.split()[3:6] == ["healthy", "archive", "running"]
    running = as_json(clienthub_status(database_url, tmp_path, "--json"))["accounts"][0]
    assert running["running"] is True and running["findings"] == []
    assert running["lease"]["holder"] == holder and running["lease"]["live"] is True
    assert datetime.fromisoformat(running["lease"]["expires_at"]) > datetime.now(UTC)

    # Its process stops without closing the run: the run says running, no lease holds it.
    release_lease(session_factory, account.id, holder)
    stalled = as_json(clienthub_status(database_url, tmp_path, "--json"))["accounts"][0]
    assert stalled["running"] is False and stalled["verdict"] == "warnings"
    assert "no sync holds the account" in stalled["findings"][0]["text"]
    # The next holder of the lease closes it as interrupted.
    close_interrupted(session_factory, account.id)
    interrupted = clienthub_status(database_url, tmp_path, "--json")
    assert interrupted.returncode == 0
    [finding] = as_json(interrupted)["accounts"][0]["findings"]
    assert (finding["severity"], finding["stream"]) == ("warning", "archive")
    assert finding["text"].startswith("archive: the last run was interrupted")


def test_an_empty_install_says_so(database_url, tmp_path):
    empty = clienthub_status(database_url, tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "No accounts are connected yet" in empty.stdout
    assert as_json(clienthub_status(database_url, tmp_path, "--json"))["accounts"] == []


def test_a_database_behind_the_code_is_reported_not_migrated(database_url, tmp_path):
    from hub import schema
    from hub.db import make_engine

    engine = make_engine(database_url)
    head = schema.head_revision()
    schema.downgrade(engine, "-1")
    behind = clienthub_status(database_url, tmp_path)
    assert behind.returncode == 2
    assert "run 'clienthub migrate'" in behind.stderr and head in behind.stderr
    assert schema.current_revision(engine) != head  # the status changed nothing
    schema.upgrade(engine)
    engine.dispose()
    assert clienthub_status(database_url, tmp_path).returncode == 0


@pytest.mark.parametrize("url, says", [
    (None, "there is no database at {data}/clienthub.sqlite3; run 'clienthub init'"),
    ("sqlite:///{data}/missing.sqlite3", "there is no database at {data}/missing.sqlite3"),
    ("postgresql+psycopg://postgres@127.0.0.1:{port}/clienthub",
     "cannot read the database (connection"),
    ("mysql://x@localhost/clienthub", "names mysql, and Client Hub keeps its data in SQLite"),
])
def test_a_database_that_cannot_be_opened_exits_2_saying_what_to_do(url, says, tmp_path):
    from tests.peers.postgres import free_port

    fill = {"data": str(tmp_path), "port": str(free_port())}
    result = clienthub_status(url.format(**fill) if url else None, tmp_path)
    assert result.returncode == 2
    assert says.format(**fill) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "clienthub.sqlite3").exists()  # nothing was created
    quiet = clienthub_status(url.format(**fill) if url else None, tmp_path, "--json")
    assert quiet.returncode == 2
    assert json.loads(quiet.stdout)["verdict"] == "unreadable"


def test_a_file_that_is_no_database(tmp_path):
    (tmp_path / "clienthub.sqlite3").write_text("not a database, but a note\n" * 100)
    result = clienthub_status(None, tmp_path)
    assert result.returncode == 2 and "is not a database Client Hub can read" in result.stderr


def test_the_status_loads_neither_sqlalchemy_nor_the_orm_nor_the_settings(session,
                                                                         database_url,
                                                                         tmp_path,
                                                                         mbox_account):  # noqa: F811
    owner = f.user(session)
    mbox_account(owner, [mail("i1", CLIENT, [owner.email], "Hei", "x")])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"PYTHONPATH": str(ROOT), "CLIENTHUB_DATABASE_URL": database_url}
    script = (
        "import sys\n"
        "sys.argv = ['clienthub', 'status']\n"
        "from api import cli\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit as exc:\n"
        "    print('EXIT', exc.code, file=sys.stderr)\n"
        "print('LOADED', *sorted(sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "EXIT 0" in result.stderr, result.stderr
    assert "box (mail_archive)" in result.stdout
    [loaded] = [ln.split()[1:] for ln in result.stderr.splitlines() if ln.startswith("LOADED")]
    heavy = [m for m in loaded if m.split(".")[0] in {"sqlalchemy", "alembic", "pydantic_settings"}
             or m in {"hub.settings", "hub.db"}
             or (m.startswith("hub.") and m.rsplit(".", 1)[-1] == "models")]
    assert heavy == []


def test_the_kinds_a_sync_reads_are_the_accounts_services():
    from hub.accounts.service import SYNCABLE_KINDS

    assert health.SYNCABLE_KINDS == SYNCABLE_KINDS


def test_the_last_success_is_found_behind_a_long_run_of_failures(session, session_factory,
                                                                 database_url, tmp_path,
                                                                 mbox_account):  # noqa: F811
    owner = f.user(session)
    account = mbox_account(owner, [mail("l1", CLIENT, [owner.email], "Hei", "x")])
    [fetched, filed] = sync_account(session_factory, account.id)
    for _ in range(health.RUN_WINDOW):
        close_run(session_factory, open_run(session_factory, account.id, "archive"), "failed",
                  "the archive could not be read")
    report = as_json(clienthub_status(database_url, tmp_path, "--json"))
    [shown] = report["accounts"]
    assert datetime.fromisoformat(shown["last_success_at"]) == max(fetched.finished_at,
                                                                   filed.finished_at)
    assert streams(shown) == {"archive": "failed"}  # filing's last run is older than the window
    assert shown["verdict"] == "failing"


def test_clienthub_sync_says_why_a_source_refused_and_goes_on(
        session, database_url, tmp_path, dovecot):  # noqa: F811
    """A login the server refuses is the user's to fix, not an unexpected error: the
    command names the account and the reason, records the failed run, syncs the rest and
    exits 1."""
    box = dovecot.add_user()
    owner = f.user(session)
    imap = {"host": "127.0.0.1", "port": dovecot.port, "security": "plain",
            "username": box.name}
    refused = add(session, owner, "imap", "Wrong password", imap, "not-the-password")
    (tmp_path / "drive").mkdir()
    drive = add(session, owner, "local", "Drive", {"path": str(tmp_path / "drive")})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"PYTHONPATH": str(ROOT), "COLUMNS": "200", "CLIENTHUB_DATA_DIR": str(tmp_path),
            "CLIENTHUB_DATABASE_URL": database_url,
            "CLIENTHUB_SECRET_KEY": get_settings().secret_key.get_secret_value(),
            "CLIENTHUB_SERVER_ROOTS": str(tmp_path), "CLIENTHUB_OUTBOUND_ALLOW": "127.0.0.1"}
    result = subprocess.run([*CLI, "sync"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Unexpected error" not in result.stderr
    assert "Wrong password: " in result.stderr and "refused the login" in result.stderr
    assert "Drive drive: ok" in result.stdout
    with read_only(database_url) as db:
        by_name = {a.name: a for a in health.read(db.fetch, db.paramstyle).accounts}
    assert [(r.stream, r.status) for r in by_name["Wrong password"].runs] == [
        (health.CONNECT, "failed")]
    assert refused.id != drive.id
