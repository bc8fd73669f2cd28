"""A 50,000-entry local drive indexed through the real runner in bounded memory, with
exact counts in the index and a first-index timeline that does not flood."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from sqlalchemy import func, select

from connectors.local import LocalFolderConnector
from hub.drive import index
from hub.drive.models import ClientRoot, DriveFolder
from hub.sync.models import SourceRecord
from hub.timeline.models import TimelineEntry
from tests.drive.conftest import OLD, Drive, add_account, client

CLIENTS, PARTS, YEARS, FILES = 50, ("Kirjanpito", "Tilinpäätös", "Palkanlaskenta",
                                    "Verottaja"), 12, 20


def _tree(root: Path) -> int:
    import os

    stamp = OLD.timestamp()
    for number in range(CLIENTS):
        for part in PARTS:
            for year in range(YEARS):
                folder = root / f"{1000 + number} Asiakas {number} Oy" / part / str(2014 + year)
                folder.mkdir(parents=True)
                for n in range(FILES):
                    path = folder / f"tosite-{n:03d}-päivä.pdf"
                    path.touch()
                    os.utime(path, (stamp, stamp))
    return CLIENTS * (1 + len(PARTS) * (1 + YEARS * (1 + FILES)))


def test_fifty_thousand_entries_through_the_runner(session, session_factory, owner,
                                                   tmp_path):
    root = tmp_path / "iso"
    total = _tree(root)
    assert total == 50_650
    for number in range(CLIENTS):
        client(session, 1000 + number, f"Asiakas {number} Oy")
    session.commit()
    account = add_account(session, owner, "local", {"path": str(root)})
    drive = Drive(session_factory, account.id, owner, lambda: LocalFolderConnector(root))

    tracemalloc.start()
    started = time.perf_counter()
    drive.sync()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def count() -> int:
        session.expire_all()
        return sum(1 for _ in index.entries(session, account.id))

    assert count() == total
    assert all(e.client_id is not None for e in index.entries(session, account.id))
    assert sum(1 for e in index.entries(session, account.id) if not e.is_folder) == (
        CLIENTS * len(PARTS) * YEARS * FILES)
    folders = total - CLIENTS * len(PARTS) * YEARS * FILES
    # A row per folder (and one for the drive root), a listing record for each.
    assert session.scalar(select(func.count()).select_from(DriveFolder).where(
        DriveFolder.account_id == account.id)) == folders + 1
    assert session.scalar(select(func.count()).select_from(SourceRecord).where(
        SourceRecord.account_id == account.id, SourceRecord.target_id.is_not(None))) == (
        folders + 1)
    assert session.scalar(select(func.count()).select_from(ClientRoot)) == CLIENTS
    # One summary per client and nothing else: every file is years old.
    summaries = session.scalars(select(TimelineEntry)).all()
    assert len(summaries) == CLIENTS
    assert {e.title for e in summaries} == {"Drive folder indexed: 960 files"}
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.1f} MB"
    assert elapsed < 600, f"{elapsed:.0f} s"
    print(f"\n50,650 entries indexed in {elapsed:.1f} s, peak {peak / 2**20:.1f} MB")

    started = time.perf_counter()
    drive.sync()  # a rescan finds nothing new and writes nothing
    assert count() == total
    assert len(session.scalars(select(TimelineEntry)).all()) == CLIENTS
    print(f"rescan in {time.perf_counter() - started:.1f} s")
