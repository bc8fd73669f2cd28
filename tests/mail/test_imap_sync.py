"""IMAP mail through the runner into the timeline, against the real Dovecot."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.access.policy import Principal
from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.mail.models import MailCopy, MailMessage
from hub.sync.models import SourceRecord
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.connectors.conftest import dovecot, dovecot_no_condstore, imap_server  # noqa: F401
from tests.mail.conftest import client_with_contact, count, mail
from workers.sync import sync_account

CLIENT = "Jari Mäkinen <jari@rakennusmakinen.fi>"


@pytest.fixture
def setup(session, imap_server):  # noqa: F811
    box = imap_server.add_user()
    owner = f.user(session, name="Mikko")
    client = client_with_contact(session)
    account = create_account(session, Principal(owner.id), AccountIn(
        kind="imap", name="Mikko", secret=box.password,
        settings={"host": "127.0.0.1", "port": imap_server.port, "security": "plain",
                  "username": box.name, "batch_size": 10}))
    session.commit()
    return box, owner, client, account


def test_crash_resume_move_delete_and_uidvalidity(session, session_factory, setup):
    box, _owner, client, account = setup
    uids = box.append("INBOX", [mail(f"m{i}", CLIENT, [f"{box.name}@x.fi"], f"Viesti {i} äöå €",
                                     f"runko {i}") for i in range(85)])
    # Kill the connection after the second batch: the run fails, resumable. (The next
    # batches' FETCHes are already out, and may have been answered: more than two batches
    # can land, never all of them.)
    batches = []

    def interrupt(stream: str, n: int) -> None:
        batches.append(n)
        if len(batches) == 2:
            box.kick()

    runs = sync_account(session_factory, account.id, interrupt)
    inbox = next(r for r in runs if r.stream == "mail:INBOX")
    assert inbox.status == "failed" and inbox.message
    done = count(session, MailMessage)
    assert 20 <= done < 85 and done % 10 == 0
    runs = sync_account(session_factory, account.id)
    assert all(r.status == "ok" for r in runs), [r.message for r in runs]
    assert count(session, MailMessage) == 85
    assert count(session, TimelineEntry, TimelineEntry.client_id == client.id) == 85

    # Move one message to another folder: still one message and one entry.
    box.create_folder("Asiakkaat")
    box.move("INBOX", [uids[0]], "Asiakkaat")
    account.settings = {**account.settings, "folders": ["Asiakkaat"]}
    session.add(account)
    session.commit()
    sync_account(session_factory, account.id)
    assert count(session, MailMessage) == 85
    assert count(session, TimelineEntry, TimelineEntry.client_id == client.id) == 85
    assert count(session, MailCopy, MailCopy.deleted_at.is_(None)) == 85

    # Deleted on the server: the entry stays and says the source copy is gone.
    box.expunge("INBOX", [uids[1]])
    sync_account(session_factory, account.id)
    message = session.scalar(select(MailMessage).where(MailMessage.message_key == "m1@test"))
    entry = session.scalar(select(TimelineEntry).where(
        TimelineEntry.source_ref == f"mail:{message.id}"))
    assert entry is not None and entry.extra["source_gone"] is True

    # UIDVALIDITY changes: the folder is re-read, nothing is duplicated.
    box.set_uidvalidity("INBOX", 424242)
    runs = sync_account(session_factory, account.id)
    assert any(r.status == "resynced" for r in runs)
    assert count(session, MailMessage) == 85
    assert count(session, TimelineEntry, TimelineEntry.client_id == client.id) == 85
    # The old numbering is swept: 83 live in INBOX (one moved, one deleted) + 1 moved.
    assert count(session, SourceRecord, SourceRecord.deleted_at.is_(None)) == 84
    assert count(session, MailCopy, MailCopy.deleted_at.is_(None)) == 84


def test_cli_adds_an_imap_account_and_syncs_it(session, database_url, tmp_path,
                                               dovecot):  # noqa: F811
    import os
    import subprocess
    import sys
    from pathlib import Path

    box = dovecot.add_user()
    box.append("INBOX", [mail("c1", CLIENT, [f"{box.name}@x.fi"], "Hei", "x")])
    owner = f.user(session)
    session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATABASE_URL": database_url, "CLIENTHUB_DATA_DIR": str(tmp_path),
            "CLIENTHUB_ENVIRONMENT": "test",  # Dovecot listens on loopback
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    cli = [sys.executable, "-m", "api.cli"]
    no_secret = subprocess.run(
        [*cli, "accounts", "add", "imap", "--owner", owner.email, "--host", "127.0.0.1",
         "--port", str(dovecot.port), "--security", "plain", "--username", box.name],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert no_secret.returncode == 1 and "CLIENTHUB_ACCOUNT_SECRET" in no_secret.stderr
    added = subprocess.run(
        [*cli, "accounts", "add", "imap", "--owner", owner.email, "--host", "127.0.0.1",
         "--port", str(dovecot.port), "--security", "plain", "--username", box.name],
        env=env | {"CLIENTHUB_ACCOUNT_SECRET": box.password}, capture_output=True, text=True,
        timeout=60)
    assert added.returncode == 0, added.stderr
    synced = subprocess.run([*cli, "sync"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert synced.returncode == 0, synced.stderr
    assert "mail:INBOX: ok, 1 items" in synced.stdout
    assert box.password not in synced.stdout + synced.stderr + added.stdout + added.stderr
    assert count(session, MailMessage) == 1


def test_the_mail_server_connection_is_closed_before_filing(session, session_factory, setup,
                                                            monkeypatch):
    """Filing a large first sync takes minutes; the IMAP login is not held idle that long."""
    from connectors.imap import ImapConnector
    from hub.mail.filing import Filing

    box, *_ = setup
    box.append("INBOX", [mail(f"c{i}", CLIENT, [f"{box.name}@x.fi"], f"Viesti {i}", "runko")
                         for i in range(3)])
    seen: list[str] = []
    close, run = ImapConnector.close, Filing.run

    def closing(self):
        seen.append("open" if self._open is not None else "closed")
        seen.append("close")
        close(self)

    def filing(self, *args, **kwargs):
        seen.append("filing")
        return run(self, *args, **kwargs)

    monkeypatch.setattr(ImapConnector, "close", closing)
    monkeypatch.setattr(Filing, "run", filing)
    runs = sync_account(session_factory, setup[3].id)
    assert all(r.status == "ok" for r in runs), [r.message for r in runs]
    assert seen[:3] == ["open", "close", "filing"]
    assert count(session, MailMessage) == 3
