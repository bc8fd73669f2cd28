"""The ``clienthub`` command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.demo_process import running_demo
from tests.peers.postgres import free_port

CLI = [sys.executable, "-m", "api.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(args, env, check=True, input_text=None):
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                            cwd=env["CLIENTHUB_DATA_DIR"], timeout=120, input=input_text)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def env(database_url, tmp_path):
    values = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    values |= {"CLIENTHUB_DATA_DIR": str(tmp_path), "CLIENTHUB_DATABASE_URL": database_url,
               "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return values


def test_init_users_tokens_and_audit_verify(env):
    result = run(["init", "--admin-email", "Anna@Firm.fi", "--admin-name", "Anna"], env)
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("ch_")
    again = run(["init", "--admin-email", "anna@firm.fi", "--admin-name", "Anna"], env,
                check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    run(["users", "add", "mikko@firm.fi", "--name", "Mikko"], env)
    assert "mikko@firm.fi" in run(["users", "list"], env).stdout
    new_token = run(["tokens", "create", "mikko@firm.fi"], env).stdout.strip()
    assert new_token.startswith("ch_") and new_token != token
    listing = run(["tokens", "list", "mikko@firm.fi"], env).stdout
    assert new_token not in listing and new_token[:10] in listing
    token_id = re.search(r"^\S*\s*(\d+)", listing.split(new_token[:10])[0].splitlines()[-1])
    assert token_id
    run(["tokens", "revoke", token_id.group(1)], env)
    run(["users", "deactivate", "mikko@firm.fi"], env)
    verified = run(["audit", "verify"], env)
    assert "intact" in verified.stdout


def test_clients_add_and_clear_errors(env):
    run(["migrate"], env)
    added = run(["clients", "add", "Rakennus Mäkinen Oy", "--business-id", "1572860-0",
                 "--domain", "makinen.fi"], env)
    assert "customer number 1" in added.stdout
    assert "Rakennus Mäkinen Oy" in run(["clients", "list", "--q", "mäkinen"], env).stdout
    bad = run(["clients", "add", "X", "--business-id", "1572860-1"], env, check=False)
    assert bad.returncode == 1 and "check digit" in bad.stderr and "Traceback" not in bad.stderr
    missing = run(["tokens", "create", "nobody@firm.fi"], env, check=False)
    assert missing.returncode == 1 and "clienthub users add" in missing.stderr


def _audit_rows(database_url):
    from sqlalchemy import select

    from hub.access.models import AuditEntry
    from hub.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(AuditEntry.action, AuditEntry.actor_user_id,
                                             AuditEntry.detail)
                                      .order_by(AuditEntry.id)).all()
    finally:
        engine.dispose()


def _token_ids(database_url):
    from sqlalchemy import select

    from hub.db import make_engine
    from hub.staff.models import ApiToken

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(ApiToken.name, ApiToken.id))
            return {name: token_id for name, token_id in rows}
    finally:
        engine.dispose()


def test_every_command_line_change_is_on_the_audit_trail_naming_its_actor(env, database_url,
                                                                          tmp_path):
    """A command acts as the admin ``--by`` names, or as the command line, which the trail
    names as such (no actor, ``via: "command line"``); anyone else is refused."""
    run(["init", "--admin-email", "anna@firm.fi", "--admin-name", "Anna"], env)
    run(["users", "add", "mikko@firm.fi", "--name", "Mikko"], env)
    run(["users", "add", "liisa@firm.fi", "--name", "Liisa", "--by", "anna@firm.fi"], env)
    for by, says in (("mikko@firm.fi", "not an active admin"),
                     ("nobody@firm.fi", "no user with email nobody@firm.fi")):
        refused = run(["clients", "add", "Refused Oy", "--by", by], env, check=False)
        assert refused.returncode == 1 and says in refused.stderr
        assert "Traceback" not in refused.stderr
    run(["clients", "add", "Rakennus Mäkinen Oy"], env)
    run(["clients", "add", "Leipomo Oy", "--by", "anna@firm.fi"], env)
    (tmp_path / "drive").mkdir()
    run(["accounts", "add", "local", "--owner", "mikko@firm.fi", "--path",
         str(tmp_path / "drive"), "--by", "anna@firm.fi"], env)
    run(["folders", "settings", "--auto-create", "--by", "anna@firm.fi"], env)
    run(["folders", "plan"], env)
    run(["users", "deactivate", "mikko@firm.fi", "--by", "anna@firm.fi"], env)
    run(["audit", "seal"], env)
    rows = _audit_rows(database_url)
    anna = next(d["user_id"] for a, _, d in rows if a == "user.create" and d["is_admin"])
    line = {"via": "command line"}
    assert [(a, actor, line.items() <= d.items()) for a, actor, d in rows] == [
        ("user.create", None, True),             # init: the first admin
        ("token.create", None, True),            # init: the first admin's token
        ("user.create", None, True),             # users add
        ("user.create", anna, False),            # users add --by
        ("client.create", None, True),           # clients add
        ("client.create", anna, False),          # clients add --by
        ("account.create", anna, False),         # accounts add local --by
        ("folders.settings_set", anna, False),   # folders settings --by
        ("folders.plan", None, True),            # folders plan
        ("user.deactivate", anna, False),        # users deactivate --by
        ("audit.sealed", None, True),            # audit seal
    ]
    assert "intact" in run(["audit", "verify"], env).stdout


def test_tokens_and_key_rotation_are_on_the_audit_trail_without_a_secret(env, database_url):
    """``tokens create``, ``tokens revoke`` and ``keys rotate`` act as ``--by`` or the
    command line; the trail keeps a token's id and name, a rotation's counts and key id."""
    run(["init", "--admin-email", "anna@firm.fi", "--admin-name", "Anna"], env)
    run(["users", "add", "mikko@firm.fi", "--name", "Mikko"], env)
    served = run(["tokens", "create", "mikko@firm.fi", "--name", "laptop"], env).stdout.strip()
    given = run(["tokens", "create", "mikko@firm.fi", "--name", "phone", "--by",
                 "anna@firm.fi"], env).stdout.strip()
    refused = run(["tokens", "create", "mikko@firm.fi", "--by", "mikko@firm.fi"], env,
                  check=False)
    assert refused.returncode == 1 and "not an active admin" in refused.stderr
    ids = _token_ids(database_url)
    assert set(ids) == {"init", "laptop", "phone"}
    run(["tokens", "revoke", str(ids["laptop"])], env)
    run(["tokens", "revoke", str(ids["phone"]), "--by", "anna@firm.fi"], env)
    run(["tokens", "revoke", str(ids["phone"])], env)  # already revoked: nothing to record
    secret, new_key = "Sal4s4na-cli", subprocess.run(
        [*CLI, "keys", "generate"], env=env, capture_output=True, text=True, check=True,
        cwd=env["CLIENTHUB_DATA_DIR"]).stdout.strip()
    run(["accounts", "add", "imap", "--owner", "mikko@firm.fi", "--host", "195.197.54.100",
         "--username", "mikko"], env | {"CLIENTHUB_ACCOUNT_SECRET": secret})
    rotating = env | {"CLIENTHUB_ENCRYPTION_KEYS": f"k1={new_key}"}
    assert "Re-encrypted 1 of 1" in run(["keys", "rotate"], rotating).stdout
    assert "Re-encrypted 0 of 1" in run(["keys", "rotate", "--by", "anna@firm.fi"],
                                        rotating).stdout
    rows = _audit_rows(database_url)
    anna = next(d["user_id"] for a, _, d in rows if a == "user.create" and d["is_admin"])
    mikko = next(d["user_id"] for a, _, d in rows if a == "user.create" and not d["is_admin"])
    line = {"via": "command line"}
    laptop = {"token_id": ids["laptop"], "user_id": mikko, "name": "laptop"}
    phone = {"token_id": ids["phone"], "user_id": mikko, "name": "phone"}
    assert [(a, actor, d) for a, actor, d in rows if a.startswith(("token.", "keys."))][1:] == [
        ("token.create", None, laptop | line),
        ("token.create", anna, phone),
        ("token.revoke", None, laptop | line),
        ("token.revoke", anna, phone),
        ("keys.rotate", None, {"key_id": "k1", "reencrypted": 1, "secrets": 1} | line),
        ("keys.rotate", anna, {"key_id": "k1", "reencrypted": 0, "secrets": 1}),
    ]
    kept = repr([d for _, _, d in rows])
    for never in (served, given, served[:10], given[:10], new_key, secret):
        assert never not in kept
    assert "intact" in run(["audit", "verify"], rotating).stdout


def test_sync_of_an_unknown_account_names_it(env):
    run(["migrate"], env)
    nothing = run(["sync"], env, check=False)
    assert nothing.returncode == 1 and "clienthub accounts add" in nothing.stderr
    unknown = run(["sync", "--account", "999"], env, check=False)
    assert unknown.returncode == 1 and "no account 999" in unknown.stderr
    assert "clienthub accounts list" in unknown.stderr and "Traceback" not in unknown.stderr


def test_init_without_flags_and_without_a_terminal_says_what_to_give(env):
    result = run(["init"], env, check=False, input_text="")
    assert result.returncode == 1 and "--admin-email" in result.stderr


def test_upgrade_is_announced(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    env["CLIENTHUB_DATA_DIR"] = str(tmp_path)
    first = run(["users", "list"], env)
    assert "Upgrading the database schema from empty" in first.stderr
    assert "Upgrading" not in run(["users", "list"], env).stderr
    assert (tmp_path / "clienthub.sqlite3").exists()


def test_production_refuses_the_default_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
            "CLIENTHUB_ENVIRONMENT": "production"}
    result = run(["users", "list"], env, check=False)
    assert result.returncode == 1 and "CLIENTHUB_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_serves_and_its_curl_lines_work(tmp_path):
    with running_demo(tmp_path, start_within=60) as running:
        lines, output = running.lines, running.output
        curls = [ln.strip() for ln in lines if ln.strip().startswith("curl ")]
        assert len(curls) == 5
        tokens = re.findall(r"token: (ch_\S+)", output)
        assert len(tokens) == 3
        results = [subprocess.run(shlex.split(c), capture_output=True, text=True, timeout=30)
                   for c in curls]
        me, covering, timeline, files, drift = (httpx.Response(200, content=r.stdout).json()
                                                for r in results)
        assert me["name"] == "Liisa Nieminen" and me["covers"][0]["state"] == "running"
        assert len(covering["items"]) >= 3
        assert all(c["access_level"] == "full" for c in covering["items"])
        assert timeline["items"] and any(e["body"] for e in timeline["items"])
        # The busy week at the covered client shows as drive activity, collapsed.
        titles = [e["title"] for e in timeline["items"]]
        assert any(re.fullmatch(r"40 files added to Kirjanpito/\d{4}/\d{2}", t)
                   for t in titles), titles
        assert files["path"] == "Kirjanpito/" and files["items"]
        assert all(i["path"].startswith("Kirjanpito/") for i in files["items"])
        found = {f["kind"] for client in drift["items"] for f in client["findings"]}
        assert {"misnamed_folder", "loose_file", "unexpected_folder",
                "foreign_client_folder", "missing_folder"} <= found


#: What a command loads when it runs, never to start: ``clienthub --help`` (and each
#: command's own) must not wait for the ORM, Alembic, the web framework or the task queue.
HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "celery", "kombu")


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["folders", "apply", "--help"],
                                  ["accounts", "add", "imap", "--help"]])
def test_help_loads_no_orm_web_framework_or_task_queue(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    script = (
        "import sys\n"
        f"sys.argv = ['clienthub', *{args!r}]\n"
        "from api import cli\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('LOADED', *sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    [loaded] = [ln.split()[1:] for ln in result.stderr.splitlines() if ln.startswith("LOADED")]
    assert [m for m in HEAVY if m in loaded] == []


def test_the_command_lines_id_bound_is_the_schemas():
    from api.cli_common import ID_MAX
    from hub.schemas import ID_MAX as SCHEMAS_ID_MAX

    assert ID_MAX == SCHEMAS_ID_MAX


def test_serve_with_two_workers_writes_without_lock_errors(env, tmp_path):
    """``serve --workers 2``: two processes write to one database at once (on SQLite
    through the file beside it and BEGIN IMMEDIATE); no request may fail for a lock,
    every note answered 201 is stored once, and none is stored unanswered."""
    from concurrent.futures import ThreadPoolExecutor
    from uuid import uuid4

    token = run(["init", "--admin-email", "anna@firm.fi", "--admin-name", "Anna"],
                env).stdout.strip().splitlines()[-1]
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2",
                               "--no-access-log"], env=env, cwd=env["CLIENTHUB_DATA_DIR"],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/me", headers=headers, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.2)
        time.sleep(1)  # the second worker too
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            me = http.get("/me").json()["id"]
            client = http.post("/clients", json={"name": "Kuormitus Oy"}).json()["id"]
            made = http.post("/responsibilities", json={
                "user_id": me, "client_id": client, "role": "asiakasvastaava"})
            assert made.status_code == 201, made.text

        def work(n: int) -> list[tuple[int, str, str]]:
            answers = []
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                stop = time.monotonic() + 4
                while time.monotonic() < stop:
                    if n % 2:
                        got = http.get(f"/clients/{client}/timeline")
                        answers.append((got.status_code, got.text[:200], ""))
                    else:
                        key = uuid4().hex
                        got = http.post(f"/clients/{client}/notes", json={"text": key},
                                        headers={"Idempotency-Key": key})
                        answers.append((got.status_code, got.text[:200], key))
            return answers

        with ThreadPoolExecutor(24) as pool:
            answers = [a for batch in pool.map(work, range(24)) for a in batch]
        failed = [(status, text) for status, text, _ in answers if status >= 300]
        assert not failed, failed[:3]
        written = {key for status, _, key in answers if key and status == 201}
        assert len(written) > 20
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            stored: list[str] = []
            page: dict = {"next": None}
            params: dict = {"limit": 200, "kind": "note"}
            while True:
                page = http.get(f"/clients/{client}/timeline", params=params).json()
                stored += [item["body"] for item in page["items"]]
                if not page["next"]:
                    break
                params["before"] = page["next"]
        assert sorted(stored) == sorted(written)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert "database is locked" not in (tmp_path / "serve.log").read_text()
