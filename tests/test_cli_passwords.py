"""``clienthub users set-password``: from standard input for scripts, typed twice unseen on
a terminal, never as an argument; refused without either."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.db import make_engine
from hub.staff.models import User
from tests.test_cli import env, run  # noqa: F401 - env is a fixture

SECRET = "kirjanpito on kivaa 2026"


def _stored(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            hashed = conn.execute(select(User.password_hash).where(
                User.email == "mikko@firm.fi")).scalar_one()
            rows = conn.execute(select(AuditEntry.detail).where(
                AuditEntry.action == "user.set_password")).scalars().all()
        return hashed, rows
    finally:
        engine.dispose()


def test_set_password_from_stdin_and_refused_without_a_terminal(env, database_url):  # noqa: F811
    run(["users", "add", "mikko@firm.fi", "--name", "Mikko"], env)
    done = run(["users", "set-password", "mikko@firm.fi", "--password-stdin"], env,
               input_text=SECRET + "\n")
    assert "mikko@firm.fi" in done.stdout and SECRET not in done.stdout
    hashed, rows = _stored(database_url)
    assert hashed.startswith("$argon2id$")
    assert rows == [{"user_id": rows[0]["user_id"], "via": "command line"}]

    no_terminal = run(["users", "set-password", "mikko@firm.fi"], env, check=False,
                      input_text="")
    assert no_terminal.returncode == 1 and "--password-stdin" in no_terminal.stderr
    short = run(["users", "set-password", "mikko@firm.fi", "--password-stdin"], env,
                check=False, input_text="lyhyt\n")
    assert short.returncode == 1 and "at least 10" in short.stderr
    assert "Traceback" not in short.stderr + no_terminal.stderr
    assert _stored(database_url)[0] == hashed  # the refused ones changed nothing
