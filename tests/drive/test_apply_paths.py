"""The sink's two paths give the same index and the same timeline: item by item in
savepoints (the runner's careful path) and set-based with ``apply_many`` (its fast path,
with deleted items going to ``gone`` one by one, before or after the batch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.drive.models import DriveItem
from hub.drive.sink import DriveSink
from hub.sync import records
from hub.sync.models import SourceRecord, SyncRun
from hub.sync.protocol import Item
from hub.sync.records import Record
from hub.timeline.models import TimelineEntry
from tests.drive.conftest import Clock, add_account, client

NOW = datetime(2026, 11, 20, 9, 2, tzinfo=UTC)
ROOT = "1001 Oy Esimerkki Ab/"
BOOKS = f"{ROOT}Kirjanpito/2026/"


def entry(path: str, *, when: datetime = NOW - timedelta(days=3), size: int = 10,
          etag: str | None = None, file_id: str | None = None, inode: int | None = None,
          deleted: bool = False) -> Item:
    folder = path.endswith("/")
    name = path.rstrip("/").rpartition("/")[2]
    parent = path.rstrip("/").rpartition("/")[0]
    data: dict[str, Any] = {"path": path, "name": name, "is_folder": folder,
                            "parent": f"{parent}/" if parent else ""}
    if not deleted:
        data |= {"size": size, "etag": etag or f"e-{name}-{size}",
                 "modified": when.isoformat()}
    if file_id:
        data["file_id"] = file_id
    if inode:
        data["inode"] = inode
    return Item("drive", path, "folder" if folder else "file", when, data, deleted=deleted)


def listing(folder: str, children: list[str]) -> Item:
    return Item("drive", "/" + folder, "listing", NOW, {"folder": folder,
                                                       "children": children})


BATCHES: list[list[Item]] = [
    [  # the first index
        entry(ROOT), entry(f"{ROOT}Kirjanpito/"), entry(BOOKS),
        entry(f"{BOOKS}tosite-1.pdf", file_id="11"),
        entry(f"{BOOKS}tosite-2.pdf", file_id="12"),
        entry(f"{BOOKS}vanha.pdf", when=datetime(2023, 1, 5, tzinfo=UTC), inode=501),
        entry(f"{ROOT}Tilinpäätös/"), entry(f"{ROOT}Tilinpäätös/tase.pdf"),
        entry("Yleiset/"), entry("Yleiset/ohje.txt"),
        listing(BOOKS, ["tosite-1.pdf", "tosite-2.pdf", "vanha.pdf"]),
    ],
    [  # changes: adds, an edit, an unchanged re-yield, a Nextcloud move, a local move
        entry(f"{BOOKS}tosite-1.pdf", file_id="11", size=99),
        entry(f"{BOOKS}tosite-3.pdf", file_id="13"),
        entry(f"{BOOKS}tosite-4.pdf", file_id="14"),
        entry(f"{ROOT}Kirjanpito/"),
        entry(f"{ROOT}Kirjanpito/siirretty.pdf", file_id="12"),
        listing(BOOKS, ["tosite-1.pdf", "tosite-3.pdf", "tosite-4.pdf"]),
        listing(f"{ROOT}Kirjanpito/", ["2026/", "siirretty.pdf", "arkisto.pdf"]),
        entry(f"{BOOKS}vanha.pdf", inode=501, deleted=True),
        entry(f"{ROOT}Kirjanpito/arkisto.pdf", inode=501,
              when=datetime(2023, 1, 5, tzinfo=UTC)),
        entry("Yleiset/uusi.txt"),
    ],
    [  # a folder removed with its subtree, explicitly and by the parent's listing
        entry(f"{ROOT}Tilinpäätös/", deleted=True),
        entry(f"{ROOT}muistio.txt"),
        listing(ROOT, ["Kirjanpito/", "muistio.txt"]),
    ],
]


def _records(session: Session, account: Account, batch: list[Item]) -> dict[str, Record]:
    return records.for_batch(session.connection(), account.id, "drive", batch, NOW,
                             lambda item: {})


def careful(session: Session, sink: DriveSink, account: Account, batch: list[Item]) -> None:
    found = _records(session, account, batch)
    for item in batch:
        record = found[item.external_id]
        with session.begin_nested():
            if item.deleted:
                record.deleted_at = record.deleted_at or NOW
                sink.gone(session, account, record)
            else:
                record.deleted_at = None
                assert sink.apply(session, account, record, item)
    records.save(session.connection(), found.values())
    session.commit()


def fast(session: Session, sink: DriveSink, account: Account, batch: list[Item],
         deletes_first: bool) -> None:
    found = _records(session, account, batch)
    live = [(found[i.external_id], i) for i in batch if not i.deleted]
    dead = [found[i.external_id] for i in batch if i.deleted]

    def gone() -> None:
        for record in dead:
            record.deleted_at = record.deleted_at or NOW
            sink.gone(session, account, record)

    if deletes_first:
        gone()
    for record, _ in live:
        record.deleted_at = None
    assert sink.apply_many(session, account, live) == 0
    if not deletes_first:
        gone()
    records.save(session.connection(), found.values())
    session.commit()


def snapshot(session: Session, account_id: int) -> dict[str, Any]:
    session.expire_all()
    items = sorted(
        (d.path, d.parent, d.name, d.is_folder, d.size, d.content_type, d.modified, d.etag,
         d.stable_id, d.client_id, d.deleted_at)
        for d in session.scalars(select(DriveItem).where(DriveItem.account_id == account_id)))
    records = sorted(session.execute(select(
        SourceRecord.external_id, SourceRecord.deleted_at.is_not(None),
        SourceRecord.target_id.is_not(None)).where(SourceRecord.account_id == account_id)).all())
    prefix = f"drive:{account_id}:"
    timeline = sorted(
        (e.client_id, e.kind, e.title, e.summary, e.occurred_at, e.share_level,
         e.source_ref.removeprefix(prefix),
         sorted((k, str(v)) for k, v in e.extra.items() if k != "account_id"))
        for e in session.scalars(select(TimelineEntry).where(
            TimelineEntry.source_ref.startswith(prefix))))
    return {"items": items, "records": records, "timeline": timeline}


def test_item_by_item_and_set_based_agree(session, owner):
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    clock = Clock(NOW)
    paths = {
        "careful": lambda s, k, a, b: careful(s, k, a, b),
        "fast, deletes first": lambda s, k, a, b: fast(s, k, a, b, True),
        "fast, deletes last": lambda s, k, a, b: fast(s, k, a, b, False),
    }
    accounts = {name: add_account(session, owner, "webdav", {"url": "x", "username": "u"})
                for name in paths}
    for number, batch in enumerate(BATCHES):
        for name, path in paths.items():
            path(session, DriveSink(clock), accounts[name], batch)
            if number == 0:  # the first index is over; what follows is news
                session.add(SyncRun(account_id=accounts[name].id, stream="drive",
                                    status="ok", finished_at=NOW))
                session.commit()
        clock.advance(minutes=20)
    shots = {name: snapshot(session, account.id) for name, account in accounts.items()}
    assert shots["fast, deletes first"] == shots["careful"]
    assert shots["fast, deletes last"] == shots["careful"]

    # And what they agree on is right.
    shot = shots["careful"]
    live = {row[0] for row in shot["items"] if row[-1] is None}
    assert live == {ROOT, f"{ROOT}Kirjanpito/", BOOKS, f"{BOOKS}tosite-1.pdf",
                    f"{BOOKS}tosite-3.pdf", f"{BOOKS}tosite-4.pdf",
                    f"{ROOT}Kirjanpito/siirretty.pdf", f"{ROOT}Kirjanpito/arkisto.pdf",
                    f"{ROOT}muistio.txt", "Yleiset/", "Yleiset/ohje.txt", "Yleiset/uusi.txt"}
    titles = sorted(row[2] for row in shot["timeline"] if row[0] == esimerkki.id)
    assert titles == [
        "1 file added to the client folder",
        "1 file changed in Kirjanpito/2026",
        "1 file last modified in Tilinpäätös on 2026-11-17",
        "1 file removed from Tilinpäätös",
        "2 files added to Kirjanpito/2026",
        "2 files last modified in Kirjanpito/2026 on 2026-11-17",
        "2 files moved to Kirjanpito",
        "Drive folder indexed: 4 files",  # the index as it was found; news come after
    ]
    moved = next(row for row in shot["timeline"] if row[2] == "2 files moved to Kirjanpito")
    assert moved[3] == "siirretty.pdf (from Kirjanpito/2026), arkisto.pdf (from Kirjanpito/2026)"
    removed_records = {row[0] for row in shot["records"] if row[1]}
    assert removed_records == {f"{BOOKS}tosite-2.pdf", f"{BOOKS}vanha.pdf",
                               f"{ROOT}Tilinpäätös/", f"{ROOT}Tilinpäätös/tase.pdf"}


def test_items_that_are_no_drive_entry_are_kept_raw(session, owner):
    account = add_account(session, owner, "local", {"path": "x"})
    batch = [Item("drive", "/odd", "file", NOW, {}), entry("ok.txt")]
    found = _records(session, account, batch)
    sink = DriveSink(Clock(NOW))
    pairs = [(found[i.external_id], i) for i in batch]
    assert sink.apply_many(session, account, pairs) == 1
    assert "not a drive entry" in found["/odd"].data["error"]
    records.save(session.connection(), found.values())
    session.commit()
    assert session.scalars(select(DriveItem.path)).all() == ["ok.txt"]
