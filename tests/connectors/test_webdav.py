"""The WebDAV connector against two real servers (wsgidav and ``rclone serve webdav``,
neither with folder ETags) and, for Nextcloud's folder ETags and failing answers, a
scripted one."""

from __future__ import annotations

import os
import shutil
import time
import tracemalloc
import uuid
from collections.abc import Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import cast

import httpx
import pytest

from connectors.webdav import WebDavConnector
from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError
from tests.connectors.webdav_fixtures import (
    FakeNextcloud,
    FakeNode,
    HubModel,
    disk_tree,
    drain,
    entries,
    listings,
)
from tests.peers.webdav import WebDavPeer


@pytest.fixture
def drive(webdav_peer: WebDavPeer) -> Path:
    """A folder of this test's own on the server; the connector's root."""
    path = webdav_peer.root / f"Asiakas {uuid.uuid4().hex[:8]} Oy"
    path.mkdir()
    return path


_OPENED: list[WebDavConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    # An open HTTP client left to the garbage collector warns, and warnings are errors.
    yield
    while _OPENED:
        _OPENED.pop().close()


def dav(*args: str, **kwargs: object) -> WebDavConnector:
    conn = WebDavConnector(*args, **kwargs)  # type: ignore[arg-type]
    _OPENED.append(conn)
    return conn


def connect(peer: WebDavPeer, drive: Path, **kwargs: object) -> WebDavConnector:
    """A connector on ``drive``, once the server sees what the test put on disk."""
    peer.settle()
    return dav(peer.url, peer.username, peer.password, root=drive.name, **kwargs)


def write(path: Path, content: bytes, *, age: float = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    # wsgidav's ETag has whole seconds: move the mtime off the current second.
    stamp = time.time() - 100 + age
    os.utime(path, (stamp, stamp))


def seed(drive: Path) -> None:
    write(drive / "Tilinpäätös/2026/tase.pdf", b"%PDF tase")
    write(drive / "Tilinpäätös/2026/tuloslaskelma 2026.xlsx", b"xlsx")
    write(drive / "Palkat/Kesäkuu ja heinäkuu/palkkalaskelma å.pdf", b"%PDF palkka")
    write(drive / "muistio.txt", b"muista ALV")


def test_initial_index(webdav_peer: WebDavPeer, drive: Path) -> None:
    seed(drive)
    conn = connect(webdav_peer, drive)
    conn.check()
    assert conn.streams() == ["drive"]
    items, cursor = drain(conn, None)
    assert set(entries(items)) == {
        "Tilinpäätös/", "Tilinpäätös/2026/", "Tilinpäätös/2026/tase.pdf",
        "Tilinpäätös/2026/tuloslaskelma 2026.xlsx", "Palkat/", "Palkat/Kesäkuu ja heinäkuu/",
        "Palkat/Kesäkuu ja heinäkuu/palkkalaskelma å.pdf", "muistio.txt",
    }
    assert listings(items) == {
        "": ["Palkat/", "Tilinpäätös/", "muistio.txt"],
        "Tilinpäätös/": ["2026/"],
        "Tilinpäätös/2026/": ["tase.pdf", "tuloslaskelma 2026.xlsx"],
        "Palkat/": ["Kesäkuu ja heinäkuu/"],
        "Palkat/Kesäkuu ja heinäkuu/": ["palkkalaskelma å.pdf"],
    }
    assert len(items) == 5, "every folder listed exactly once"
    tase = entries(items)["Tilinpäätös/2026/tase.pdf"]
    assert tase["name"] == "tase.pdf" and tase["size"] == 9 and tase["etag"]
    assert tase["content_type"] == "application/pdf"
    mtime = (drive / "Tilinpäätös/2026/tase.pdf").stat().st_mtime
    assert abs(datetime.fromisoformat(tase["mtime"]).timestamp() - mtime) < 1
    assert all(i.occurred_at.tzinfo is not None for i in items)
    # The cursor remembers folders, not files.
    assert sorted(cursor["folders"]) == ["", "Palkat/", "Palkat/Kesäkuu ja heinäkuu/",
                                         "Tilinpäätös/", "Tilinpäätös/2026/"]
    again, _ = drain(conn, cursor)
    assert again == [], "nothing changed, nothing yielded"


def test_rescans_yield_exactly_the_changed_folders(webdav_peer: WebDavPeer,
                                                   drive: Path) -> None:
    seed(drive)
    conn = connect(webdav_peer, drive)
    hub = HubModel()
    items, cursor = drain(conn, None)
    hub.apply(items)
    assert set(hub.live) == disk_tree(drive)

    def rescan() -> list[Item]:
        nonlocal cursor
        webdav_peer.settle()
        found, cursor = drain(conn, cursor)
        hub.apply(found)
        assert set(hub.live) == disk_tree(drive), "the hub's sweep matches the server"
        return found

    year = "Tilinpäätös/2026/"
    # A file added: the folder's listing, all of it.
    write(drive / year / "liitetiedot.pdf", b"%PDF liite")
    found = rescan()
    assert listings(found) == {year: ["liitetiedot.pdf", "tase.pdf",
                                      "tuloslaskelma 2026.xlsx"]}

    # A file changed.
    old = hub.live[year + "tase.pdf"]["etag"]
    write(drive / year / "tase.pdf", b"%PDF tase, korjattu", age=10)
    found = rescan()
    assert list(listings(found)) == [year]
    assert hub.live[year + "tase.pdf"]["etag"] != old
    assert hub.live[year + "tase.pdf"]["size"] == 19

    # A file moved: both folders are listed again; the root's listing drops the old path.
    (drive / "muistio.txt").rename(drive / "Palkat/muistio.txt")
    found = rescan()
    assert listings(found) == {"": ["Palkat/", "Tilinpäätös/"],
                               "Palkat/": ["Kesäkuu ja heinäkuu/", "muistio.txt"]}
    assert "muistio.txt" not in hub.live

    # A file removed: only the emptied folder's listing.
    (drive / "Palkat/Kesäkuu ja heinäkuu/palkkalaskelma å.pdf").unlink()
    found = rescan()
    assert found == [found[0]] and listings(found) == {"Palkat/Kesäkuu ja heinäkuu/": []}

    # A folder added, with a file in it.
    write(drive / "Tilinpäätös/2027/avaava tase.pdf", b"%PDF")
    found = rescan()
    assert listings(found) == {"Tilinpäätös/": ["2026/", "2027/"],
                               "Tilinpäätös/2027/": ["avaava tase.pdf"]}

    # A folder removed: its parent's listing says so, its subtree leaves the cursor.
    shutil.rmtree(drive / "Tilinpäätös/2026")
    found = rescan()
    assert listings(found) == {"Tilinpäätös/": ["2027/"]}
    assert not [k for k in cursor["folders"] if k.startswith("Tilinpäätös/2026/")]
    assert drain(conn, cursor)[0] == []


def test_interrupted_walk_resumes_without_duplicates(webdav_peer: WebDavPeer,
                                                     drive: Path) -> None:
    for n in range(6):
        write(drive / f"Kansio {n}/Alikansio ä/tosite {n}.pdf", b"x" * n)
    conn = connect(webdav_peer, drive, folders_per_checkpoint=1)
    full, _ = drain(conn, None)

    committed: list[Item] = []
    batch: list[Item] = []
    cursor = None
    reader = cast("Generator[Item | Checkpoint, None, None]", conn.read("drive", None))
    checkpoints = 0
    for element in reader:
        if isinstance(element, Checkpoint):
            committed += batch
            batch, cursor = [], element.cursor
            checkpoints += 1
            if checkpoints == 4:
                break
        else:
            batch.append(element)
    reader.close()  # the process died; what came after the 4th checkpoint is lost
    assert cursor is not None and cursor["walk"]["stack"], "the pending folders are kept"
    rest, final = drain(conn, cursor)
    ids = [i.external_id for i in committed + rest]
    assert len(ids) == len(set(ids)), "no folder listed twice"
    assert sorted(ids) == sorted(i.external_id for i in full)
    assert entries(committed + rest) == entries(full)
    assert drain(conn, final)[0] == []


def test_wrong_password_and_missing_root(webdav_peer: WebDavPeer, drive: Path) -> None:
    bad = dav(webdav_peer.url, webdav_peer.username, "väärä", root=drive.name)
    with pytest.raises(SourceError, match="refused the login") as caught:
        bad.check()
    assert not caught.value.retryable
    with pytest.raises(SourceError, match="refused the login"):
        drain(bad, None)
    missing = dav(webdav_peer.url, webdav_peer.username, webdav_peer.password, root="Ei ole")
    with pytest.raises(SourceError, match="'/Ei ole' does not exist"):
        missing.check()
    with pytest.raises(SourceError, match="does not exist"):
        drain(missing, None)


def test_cursor_of_another_root_is_refused(webdav_peer: WebDavPeer, drive: Path) -> None:
    _, cursor = drain(connect(webdav_peer, drive), None)
    other = dav(webdav_peer.url, webdav_peer.username, webdav_peer.password)
    with pytest.raises(CursorInvalidated, match="synced folder changed"):
        drain(other, cursor)


def test_mkcol_and_move(webdav_peer: WebDavPeer, drive: Path) -> None:
    write(drive / "saapuneet/lasku 1.pdf", b"1")
    write(drive / "saapuneet/lasku 2.pdf", b"2")
    conn = connect(webdav_peer, drive)
    conn.mkcol("Ostolaskut 2026")
    assert (drive / "Ostolaskut 2026").is_dir()
    if webdav_peer.kind == "rclone":
        conn.mkcol("Ostolaskut 2026")  # rclone answers 201 for a folder that exists
    else:
        with pytest.raises(SourceError, match="already exists"):
            conn.mkcol("Ostolaskut 2026")
    with pytest.raises(SourceError, match=r"parent folder of .* does not exist"):
        conn.mkcol("Ei ole/Alikansio")

    conn.move("saapuneet/lasku 1.pdf", "Ostolaskut 2026/lasku 1.pdf")
    assert (drive / "Ostolaskut 2026/lasku 1.pdf").read_bytes() == b"1"
    assert not (drive / "saapuneet/lasku 1.pdf").exists()
    with pytest.raises(SourceError, match=r"already exists .*overwrite=True"):
        conn.move("saapuneet/lasku 2.pdf", "Ostolaskut 2026/lasku 1.pdf")
    assert (drive / "Ostolaskut 2026/lasku 1.pdf").read_bytes() == b"1"
    conn.move("saapuneet/lasku 2.pdf", "Ostolaskut 2026/lasku 1.pdf", overwrite=True)
    assert (drive / "Ostolaskut 2026/lasku 1.pdf").read_bytes() == b"2"
    with pytest.raises(SourceError, match=r"parent folder of .* does not exist"):
        conn.move("Ostolaskut 2026/lasku 1.pdf", "Ei ole/lasku 1.pdf")
    with pytest.raises(SourceError, match="does not exist"):
        conn.move("saapuneet/poissa.pdf", "Ostolaskut 2026/poissa.pdf")
    conn.move("Ostolaskut 2026/", "Arkisto/")
    assert (drive / "Arkisto/lasku 1.pdf").exists()


def test_large_folder_in_bounded_memory(webdav_peer: WebDavPeer, drive: Path) -> None:
    big = drive / "Tositteet"
    big.mkdir()
    for n in range(5000):
        (big / f"tosite {n:05d} – kuitti äöå.pdf").write_bytes(b"")
    conn = connect(webdav_peer, drive)
    tracemalloc.start()
    try:
        listed = 0
        for element in conn.read("drive", None):
            if isinstance(element, Item) and element.data["folder"] == "Tositteet/":
                listed = len(element.data["files"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert listed == 5000
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# -- a scripted Nextcloud: folder ETags, errors ------------------------------------------


def nextcloud_tree() -> FakeNode:
    return FakeNode("r1", {
        "Tilinpäätös": FakeNode("t1", {"2026": FakeNode("y1", {"tase.pdf": FakeNode("f1")})}),
        "Palkat": FakeNode("p1", {"kesäkuu.pdf": FakeNode("k1")}),
    })


def test_folder_etags_skip_unchanged_subtrees() -> None:
    server = FakeNextcloud(nextcloud_tree())
    conn = server.connector()
    items, cursor = drain(conn, None)
    tase = entries(items)["Tilinpäätös/2026/tase.pdf"]
    assert tase["file_id"] and tase["etag"] == '"f1"'
    assert "owner" not in tase
    assert sorted(server.listed) == ["/", "/Palkat/", "/Tilinpäätös/", "/Tilinpäätös/2026/"]

    # Nextcloud changes the ETag of every ancestor of a change.
    tree = server.tree
    assert tree.children is not None
    year = tree.children["Tilinpäätös"].children["2026"]  # type: ignore[index]
    year.children["liite.pdf"] = FakeNode("l1")  # type: ignore[index]
    year.etag, tree.children["Tilinpäätös"].etag, tree.etag = "y2", "t2", "r2"
    server.listed.clear()
    items, cursor = drain(conn, cursor)
    assert server.listed == ["/", "/Tilinpäätös/", "/Tilinpäätös/2026/"], "Palkat skipped"
    assert set(entries(items)) == {"Tilinpäätös/2026/tase.pdf", "Tilinpäätös/2026/liite.pdf"}
    server.listed.clear()
    assert drain(conn, cursor)[0] == [] and server.listed == ["/"]


@pytest.mark.parametrize(("status", "retryable", "words"), [
    (423, True, "locked"), (507, True, "no space left"), (500, True, "server failed"),
    (503, True, "server failed"), (403, False, "does not let"), (401, False, "refused the login"),
])
def test_failing_reads(status: int, retryable: bool, words: str) -> None:
    server = FakeNextcloud(nextcloud_tree())
    server.fail = lambda r: httpx.Response(status) if "Palkat" in r.url.path else None
    with pytest.raises(SourceError, match=words) as caught:
        drain(server.connector(), None)
    assert caught.value.retryable is retryable


def test_unreachable_and_garbled_servers() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    server = FakeNextcloud(nextcloud_tree())
    server.fail = refuse
    with pytest.raises(SourceError, match="could not reach the server") as caught:
        server.connector().check()
    assert caught.value.retryable
    server.fail = lambda r: httpx.Response(207, content=b"<d:multistatus xmlns:d='DAV:'><d:re")
    with pytest.raises(SourceError, match="not valid WebDAV XML"):
        drain(server.connector(), None)


@pytest.mark.parametrize(("status", "words"), [
    (401, "refused the login"), (403, "does not let"), (404, "does not exist"),
    (405, "already exists"), (409, "parent folder"), (412, "already exists"),
    (423, "locked"), (507, "no space left"), (502, "server failed"),
])
def test_write_errors_say_what_to_do(status: int, words: str) -> None:
    server = FakeNextcloud(nextcloud_tree())
    server.fail = lambda r: httpx.Response(status)
    with pytest.raises(SourceError, match=words) as caught:
        server.connector().mkcol("Uusi")
    assert caught.value.retryable is (status in (423, 507, 502))
    with pytest.raises(SourceError):
        server.connector().move("a.pdf", "b.pdf")
