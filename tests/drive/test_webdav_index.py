"""A WebDAV drive through the real runner, against wsgidav and ``rclone serve webdav``
(neither gives folder ETags or file ids): the first index, and changes arriving through
the listing-marker sweep."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.webdav import WebDavConnector
from hub.sync.models import SourceRecord
from tests.drive.conftest import OLD, Clock, Drive, add_account, client, entries, titles, write
from tests.peers.webdav import WebDavPeer

ESIMERKKI = "1001 Oy Esimerkki Ab"


@pytest.fixture
def world(session, session_factory, owner, webdav_peer: WebDavPeer):
    drive_root = webdav_peer.root / f"Asiakkaat {uuid.uuid4().hex[:8]}"
    write(drive_root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf", b"one", when=OLD)
    write(drive_root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-2.pdf", b"two", when=OLD)
    write(drive_root, f"{ESIMERKKI}/Tilinpäätös/2025/tase.pdf", b"tase", when=OLD)
    write(drive_root, f"{ESIMERKKI}/Tilinpäätös/2025/liitteet/liite å.pdf", b"l", when=OLD)
    write(drive_root, "Yleiset/ohje.txt", b"o", when=OLD)
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    account = add_account(session, owner, "webdav", {
        "url": webdav_peer.url, "username": webdav_peer.username, "root": drive_root.name})

    def connector() -> WebDavConnector:
        webdav_peer.settle()
        return WebDavConnector(webdav_peer.url, webdav_peer.username, webdav_peer.password,
                               root=drive_root.name)

    drive = Drive(session_factory, account.id, owner, connector, Clock(datetime.now(UTC)))
    return drive, drive_root, esimerkki


def _disk(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.rglob("*")}


def _touch(root: Path, rel: str, content: bytes) -> None:
    # wsgidav's ETags have whole seconds: give every write a second of its own.
    write(root, rel, content, when=datetime.fromtimestamp(time.time() - 30, UTC))


def test_first_index_and_changes_through_the_listing_sweep(session, world, webdav_peer):
    drive, root, esimerkki = world
    drive.sync()
    items = drive.items(session)
    assert set(items) == _disk(root)
    assert items[f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf"].client_id == esimerkki.id
    assert items[f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf"].etag
    assert items["Yleiset/ohje.txt"].client_id is None
    assert titles(entries(session, esimerkki.id)) == ["Drive folder indexed: 4 files"]
    # One listing record per folder, none per file.
    markers = set(session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.account_id == drive.account_id)).all())
    assert markers == {"/" + path for path in _disk(root) if path.endswith("/")} | {"/"}

    seen = {e.id for e in entries(session)}

    def step(change) -> list[str]:
        nonlocal seen
        drive.clock.advance(minutes=15)
        change()
        drive.sync()
        assert set(drive.items(session)) == _disk(root), "the index matches the server"
        fresh = [e for e in entries(session) if e.id not in seen]
        seen |= {e.id for e in fresh}
        assert all(e.client_id == esimerkki.id for e in fresh)
        return titles(fresh)

    assert step(lambda: _touch(root, f"{ESIMERKKI}/Kirjanpito/2025/uusi.pdf", b"new")) == [
        "1 file added to Kirjanpito/2025"]
    assert step(lambda: _touch(root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf",
                               b"edited")) == ["1 file changed in Kirjanpito/2025"]
    assert step(lambda: (root / ESIMERKKI / "Kirjanpito/2025/tosite-2.pdf").unlink()) == [
        "1 file removed from Kirjanpito/2025"]
    # Without file ids a rename is a removal and an addition.
    assert step(lambda: (root / ESIMERKKI / "Kirjanpito/2025/uusi.pdf").rename(
        root / ESIMERKKI / "Kirjanpito/2025/nimetty.pdf")) == [
        "1 file added to Kirjanpito/2025", "1 file removed from Kirjanpito/2025"]
    assert step(lambda: shutil.rmtree(root / ESIMERKKI / "Tilinpäätös")) == [
        "2 files removed from Tilinpäätös"]
    gone = drive.folders(session)
    assert gone[f"{ESIMERKKI}/Tilinpäätös/2025/liitteet/"].deleted_at is not None
    records = session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.external_id.startswith(f"/{ESIMERKKI}/Tilinpäätös/"),
        SourceRecord.deleted_at.is_(None))).all()
    assert records == []
    assert step(lambda: None) == []  # an unchanged drive writes nothing
