"""``clienthub accounts add local|webdav`` and ``clienthub sync`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select

from hub.accounts.models import Account
from hub.drive import index
from tests.drive.conftest import OLD, client, write
from tests.peers.webdav import WebDavPeer

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], env: dict[str, str],
         **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]


def test_drive_accounts_are_added_and_synced(session, database_url, tmp_path, owner,
                                           webdav_peer: WebDavPeer):
    local = tmp_path / "paikallinen"
    write(local, "1001 Oy Esimerkki Ab/Kirjanpito/tosite.pdf", when=OLD)
    remote = webdav_peer.root / f"Asiakkaat {uuid.uuid4().hex[:8]}"
    write(remote, "Asiakkaat/1001 Oy Esimerkki Ab/tase.pdf", when=OLD)
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATABASE_URL": database_url, "CLIENTHUB_DATA_DIR": str(tmp_path),
            "CLIENTHUB_ENVIRONMENT": "test",  # the WebDAV peer listens on loopback
            "PYTHONPATH": str(ROOT), "COLUMNS": "200"}

    added = _cli(["accounts", "add", "local", "--owner", owner.email, "--path", str(local)],
                 env)
    assert added.returncode == 0, added.stderr
    missing = _cli(["accounts", "add", "local", "--owner", owner.email, "--path",
                    str(tmp_path / "ei")], env)
    assert missing.returncode == 1 and "is not a folder" in missing.stderr
    webdav = ["accounts", "add", "webdav", "--owner", owner.email, "--url", webdav_peer.url,
              "--username", webdav_peer.username, "--root", remote.name,
              "--clients-path", "Asiakkaat"]
    no_secret = _cli(webdav, env, stdin=subprocess.DEVNULL)
    assert no_secret.returncode == 1 and "CLIENTHUB_ACCOUNT_SECRET" in no_secret.stderr
    added = _cli(webdav, env | {"CLIENTHUB_ACCOUNT_SECRET": webdav_peer.password})
    assert added.returncode == 0, added.stderr
    webdav_peer.settle()

    synced = _cli(["sync"], env)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.count("drive: ok") == 2, synced.stdout
    assert webdav_peer.password not in synced.stdout + synced.stderr + added.stdout
    session.expire_all()
    kinds = dict(session.execute(select(Account.kind, Account.id)).all())
    assert session.get(Account, kinds["webdav"]).secret.startswith("chv1:")
    everything = [e for account_id in kinds.values()
                  for e in index.entries(session, account_id)]
    filed = [e.path for e in everything if e.client_id == esimerkki.id and not e.is_folder]
    assert sorted(filed) == ["1001 Oy Esimerkki Ab/Kirjanpito/tosite.pdf",
                             "Asiakkaat/1001 Oy Esimerkki Ab/tase.pdf"]
    assert len(everything) == 6
