"""A local drive folder through the real runner: the first index, every kind of change in
the index and in the timeline, collapsing, and the first index not flooding the timeline."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.local import LocalFolderConnector
from hub.drive.models import ClientRoot
from hub.sync.models import SourceRecord
from hub.timeutil import in_firm_zone
from tests.drive.conftest import OLD, Clock, Drive, add_account, client, entries, titles, write

ESIMERKKI = "1001 Oy Esimerkki Ab"
OLJY = "2002 aanekosken  öljy oy"  # typed loosely: no dots, double space, lower case
KOLMAS = "Asiakas 1572860-0 vanhat"  # found by the business ID alone


@pytest.fixture
def world(session, session_factory, owner, tmp_path):
    now = datetime.now(UTC)
    root = tmp_path / "Asiakkaat"
    write(root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf", b"one", when=OLD)
    write(root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-2.pdf", b"two", when=OLD)
    write(root, f"{ESIMERKKI}/Kirjanpito/2026/alv-11.pdf", b"alv", when=now - timedelta(days=2))
    write(root, f"{ESIMERKKI}/Tilinpäätös/2025/tase.pdf", b"tase", when=OLD)
    write(root, f"{OLJY}/Palkanlaskenta/2026/palkat.xlsx", b"p", when=now - timedelta(days=1))
    write(root, f"{KOLMAS}/muistio.txt", b"m", when=OLD)
    write(root, "Yleiset/ohje.txt", b"o", when=OLD)
    write(root, "irrallinen.txt", b"l", when=OLD)
    clients = {
        "esimerkki": client(session, 1001, "Oy Esimerkki Ab"),
        "oljy": client(session, 2002, "Äänekosken Öljy Oy"),
        "kolmas": client(session, 3003, "Kolmas Oy", business_id="1572860-0"),
    }
    session.commit()
    account = add_account(session, owner, "local", {"path": str(root)})
    drive = Drive(session_factory, account.id, owner, lambda: LocalFolderConnector(root),
                  Clock(now))
    return drive, root, clients, now


def test_first_index_files_everything_under_its_client(session, world):
    drive, root, clients, now = world
    drive.sync()
    items = drive.items(session)
    on_disk = {p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
               for p in root.rglob("*")}
    assert set(items) == on_disk
    by_client = {path: row.client_id for path, row in items.items()}
    assert by_client[f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf"] == clients["esimerkki"].id
    assert by_client[f"{ESIMERKKI}/"] == clients["esimerkki"].id
    assert by_client[f"{OLJY}/Palkanlaskenta/2026/palkat.xlsx"] == clients["oljy"].id
    assert by_client[f"{KOLMAS}/muistio.txt"] == clients["kolmas"].id
    assert by_client["Yleiset/ohje.txt"] is None and by_client["irrallinen.txt"] is None
    tosite = items[f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf"]
    assert (tosite.name, tosite.parent, tosite.size) == ("tosite-1.pdf",
                                                         f"{ESIMERKKI}/Kirjanpito/2025/", 3)
    assert tosite.content_type == "application/pdf" and tosite.modified == OLD
    assert tosite.stable_id == f"inode:{(root / tosite.path).stat().st_ino}"
    roots = {(r.path, r.client_id, r.origin) for r in session.scalars(select(ClientRoot))}
    assert roots == {(f"{ESIMERKKI}/", clients["esimerkki"].id, "auto"),
                     (f"{OLJY}/", clients["oljy"].id, "auto"),
                     (f"{KOLMAS}/", clients["kolmas"].id, "auto")}

    # Not one entry per old file: an index summary per client, and the recent work.
    day = lambda days: in_firm_zone(now - timedelta(days=days)).date().isoformat()  # noqa: E731
    assert titles(entries(session, clients["esimerkki"].id)) == [
        f"1 file last modified in Kirjanpito/2026 on {day(2)}",
        "Drive folder indexed: 4 files"]
    assert titles(entries(session, clients["oljy"].id)) == [
        f"1 file last modified in Palkanlaskenta/2026 on {day(1)}",
        "Drive folder indexed: 1 file"]
    assert titles(entries(session, clients["kolmas"].id)) == ["Drive folder indexed: 1 file"]
    summary = next(e for e in entries(session, clients["esimerkki"].id)
                   if e.extra["action"] == "indexed")
    assert summary.kind == "file_activity" and summary.owner_user_id == drive.owner.id
    assert summary.owner_ids == [drive.owner.id] and summary.share_level == "full"
    recent = next(e for e in entries(session, clients["esimerkki"].id)
                  if e.extra["action"] == "modified")
    assert recent.occurred_at == items[f"{ESIMERKKI}/Kirjanpito/2026/alv-11.pdf"].modified
    assert recent.extra["names"] == ["alv-11.pdf"]

    before = [(e.id, e.title) for e in entries(session)]
    drive.clock.advance(minutes=15)
    drive.sync()  # nothing changed: nothing written
    assert [(e.id, e.title) for e in entries(session)] == before


def _new(session, drive, client_id, before):
    return [e for e in entries(session, client_id) if e.id not in before]


def test_each_kind_of_change_in_the_index_and_the_timeline(session, world):
    drive, root, clients, _ = world
    mine = clients["esimerkki"].id
    drive.sync()
    seen = {e.id for e in entries(session)}

    def step(change) -> list:
        nonlocal seen
        drive.clock.advance(minutes=15)  # each change in a window of its own
        change()
        drive.sync()
        fresh = [e for e in entries(session) if e.id not in seen]
        seen |= {e.id for e in fresh}
        return fresh

    base = root / ESIMERKKI
    added = step(lambda: write(root, f"{ESIMERKKI}/Kirjanpito/2026/alv-12.pdf", b"new"))
    assert [(e.client_id, e.title) for e in added] == [(mine, "1 file added to Kirjanpito/2026")]
    assert added[0].extra["names"] == ["alv-12.pdf"] and added[0].extra["count"] == 1
    assert drive.items(session)[f"{ESIMERKKI}/Kirjanpito/2026/alv-12.pdf"].client_id == mine

    changed = step(lambda: write(root, f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf", b"edited!"))
    assert titles(changed) == ["1 file changed in Kirjanpito/2025"]
    assert drive.items(session)[f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf"].size == 7

    moved = step(lambda: os.rename(base / "Kirjanpito/2025/tosite-2.pdf",
                                   base / "Kirjanpito/2026/tosite-2.pdf"))
    assert titles(moved) == ["1 file moved to Kirjanpito/2026"]
    assert moved[0].extra["names"] == ["tosite-2.pdf (from Kirjanpito/2025)"]
    items = drive.items(session)
    assert f"{ESIMERKKI}/Kirjanpito/2025/tosite-2.pdf" not in items
    assert f"{ESIMERKKI}/Kirjanpito/2026/tosite-2.pdf" in items

    renamed = step(lambda: os.rename(base / "Kirjanpito/2026/tosite-2.pdf",
                                     base / "Kirjanpito/2026/kuitti.pdf"))
    assert renamed[0].extra["names"] == ["kuitti.pdf (renamed from tosite-2.pdf)"]

    removed = step(lambda: (base / "Kirjanpito/2026/alv-11.pdf").unlink())
    assert titles(removed) == ["1 file removed from Kirjanpito/2026"]
    assert f"{ESIMERKKI}/Kirjanpito/2026/alv-11.pdf" not in drive.items(session)

    subtree = step(lambda: shutil.rmtree(base / "Tilinpäätös"))
    assert titles(subtree) == ["1 file removed from Tilinpäätös"]
    live = drive.items(session)
    assert not [p for p in live if p.startswith(f"{ESIMERKKI}/Tilinpäätös/")]
    folders = drive.folders(session)
    assert folders[f"{ESIMERKKI}/Tilinpäätös/2025/"].deleted_at is not None
    # The folders' listing records say they are gone too.
    gone = session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.external_id.startswith(f"/{ESIMERKKI}/Tilinpäätös/"),
        SourceRecord.deleted_at.is_not(None))).all()
    assert sorted(gone) == [f"/{ESIMERKKI}/Tilinpäätös/", f"/{ESIMERKKI}/Tilinpäätös/2025/"]

    # A file of no client's folder changes: nothing reaches any timeline.
    assert step(lambda: write(root, "Yleiset/uusi.txt", b"u")) == []
    # Every entry so far is the one client's, in its own drive's owner's name.
    assert {e.client_id for e in entries(session)} >= {mine}
    assert all(e.owner_user_id == drive.owner.id for e in entries(session))


def test_two_hundred_vouchers_are_one_entry(session, world):
    drive, root, _, _ = world
    drive.sync()
    drive.clock.advance(minutes=15)
    before = {e.id for e in entries(session)}
    for n in range(200):
        write(root, f"{ESIMERKKI}/Kirjanpito/2026/tosite-{n:03d}.pdf", b"%PDF")
    drive.sync()
    fresh = [e for e in entries(session) if e.id not in before]
    assert [e.title for e in fresh] == ["200 files added to Kirjanpito/2026"]
    entry = fresh[0]
    assert entry.extra["count"] == 200 and len(entry.extra["names"]) == 5
    assert entry.summary.endswith("and 195 more")
    assert entry.occurred_at == drive.clock.now


def test_changes_collapse_within_a_ten_minute_window_only(session, world):
    drive, root, clients, _ = world
    drive.clock.now = datetime(2026, 11, 20, 10, 0, 30, tzinfo=UTC)
    drive.sync()
    folder = f"{ESIMERKKI}/Kirjanpito/2026"
    drive.clock.now = datetime(2026, 11, 20, 10, 21, tzinfo=UTC)
    write(root, f"{folder}/a.pdf")
    drive.sync()
    drive.clock.now = datetime(2026, 11, 20, 10, 29, 59, tzinfo=UTC)
    write(root, f"{folder}/b.pdf")
    write(root, f"{folder}/c.pdf")
    drive.sync()
    drive.clock.now = datetime(2026, 11, 20, 10, 30, 1, tzinfo=UTC)
    write(root, f"{folder}/d.pdf")
    drive.sync()
    added = [e for e in entries(session, clients["esimerkki"].id)
             if e.extra["action"] == "added"]
    assert [(e.extra["count"], e.extra["names"], e.occurred_at.minute) for e in added] == [
        (3, ["a.pdf", "b.pdf", "c.pdf"], 29), (1, ["d.pdf"], 30)]
    assert added[0].title == "3 files added to Kirjanpito/2026"


def test_a_folder_moved_is_its_files_moved(session, world):
    drive, root, _, _ = world
    drive.sync()
    drive.clock.advance(minutes=15)
    before = {e.id for e in entries(session)}
    base = root / ESIMERKKI
    os.rename(base / "Kirjanpito/2025", base / "Kirjanpito/2025 valmis")
    drive.sync()
    fresh = [e for e in entries(session) if e.id not in before]
    assert titles(fresh) == ["2 files moved to Kirjanpito/2025 valmis"]
    live = drive.items(session)
    assert f"{ESIMERKKI}/Kirjanpito/2025 valmis/tosite-1.pdf" in live
    assert f"{ESIMERKKI}/Kirjanpito/2025/tosite-1.pdf" not in live


def test_a_removed_root_folder_and_an_unmapped_file_leave_no_stray_entries(session, world):
    drive, root, clients, _ = world
    drive.sync()
    drive.clock.advance(minutes=15)
    shutil.rmtree(root / KOLMAS)
    (root / "irrallinen.txt").unlink()
    before = {e.id for e in entries(session)}
    drive.sync()
    fresh = [e for e in entries(session) if e.id not in before]
    assert [(e.client_id, e.title) for e in fresh] == [
        (clients["kolmas"].id, "1 file removed from the client folder")]


def test_path_helpers_round_trip(tmp_path: Path) -> None:
    from hub.drive.listing import name_of, parent_of

    assert parent_of("a/b/c.pdf") == "a/b/" and parent_of("a/b/") == "a/"
    assert parent_of("a/") == "" and parent_of("c.pdf") == ""
    assert name_of("a/b/") == "b" and name_of("a/b/c.pdf") == "c.pdf"
