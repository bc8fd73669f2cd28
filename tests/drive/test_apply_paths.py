"""The sink's paths give the same index and the same timeline: a lister's listings applied
set-based (the runner's fast path) and one by one in savepoints (its careful path), and a
delta source's single entries (added, changed, deleted one at a time), for the same drive
going through the same changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.drive import index
from hub.drive.listing import name_of, parent_of
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
RECENT = NOW - timedelta(days=3)
OLD = datetime(2023, 1, 5, tzinfo=UTC)

State = dict[str, dict[str, Any]]


def facts(size: int = 10, when: datetime = RECENT, **more: Any) -> dict[str, Any]:
    return {"size": size, "mtime": when.isoformat(), **more}


FIRST: State = {
    ROOT: {}, f"{ROOT}Kirjanpito/": {}, BOOKS: {},
    f"{BOOKS}tosite-1.pdf": facts(file_id="11"),
    f"{BOOKS}tosite-2.pdf": facts(file_id="12"),
    f"{BOOKS}vanha.pdf": facts(when=OLD, inode=501),
    f"{ROOT}Tilinpäätös/": {}, f"{ROOT}Tilinpäätös/tase.pdf": facts(),
    "Yleiset/": {}, "Yleiset/ohje.txt": facts(),
}
# An edit, two adds, a Nextcloud move (by file id), a local move (by inode), a file of
# no client's folder.
SECOND: State = {k: v for k, v in FIRST.items()
                 if k not in (f"{BOOKS}tosite-2.pdf", f"{BOOKS}vanha.pdf")} | {
    f"{BOOKS}tosite-1.pdf": facts(size=99, file_id="11"),
    f"{BOOKS}tosite-3.pdf": facts(file_id="13"), f"{BOOKS}tosite-4.pdf": facts(file_id="14"),
    f"{ROOT}Kirjanpito/siirretty.pdf": facts(file_id="12"),
    f"{ROOT}Kirjanpito/arkisto.pdf": facts(when=OLD, inode=501),
    "Yleiset/uusi.txt": facts(),
}
# A folder removed with what is in it; a file in the client folder itself.
THIRD: State = {k: v for k, v in SECOND.items() if not k.startswith(f"{ROOT}Tilinpäätös/")
                } | {f"{ROOT}muistio.txt": facts()}
STATES = [FIRST, SECOND, THIRD]


def _folders(state: State) -> set[str]:
    return {""} | {p for p in state if p.endswith("/")}


def listings(before: State, after: State) -> list[Item]:
    """What a lister yields: the listing of every folder whose children changed."""
    out = []
    for folder in sorted(_folders(after)):
        def children(state: State, folder: str = folder) -> dict[str, Any]:
            return {p: v for p, v in state.items() if parent_of(p) == folder}
        if before and children(before) == children(after) and folder in _folders(before):
            continue
        kids = children(after)
        out.append(Item("drive", "/" + folder, "listing", NOW, {
            "folder": folder,
            "files": [{"name": name_of(p), **v} for p, v in kids.items() if not p.endswith("/")],
            "folders": [{"name": name_of(p), **v} for p, v in kids.items() if p.endswith("/")],
        }))
    return out


def singles(before: State, after: State) -> list[Item]:
    """What a delta source yields: each entry added, changed or gone (a folder gone once,
    with nothing said of what was in it)."""
    out = []
    # In the order a lister would name them: folder by folder, then by name.
    for path in sorted(after, key=lambda p: (parent_of(p), p)):
        if before.get(path) != after[path]:
            out.append(Item("drive", path, "folder" if path.endswith("/") else "file", NOW,
                            {"name": name_of(path), **after[path]}))
    gone = sorted(p for p in before if p not in after)
    for path in gone:
        if any(path != g and path.startswith(g) and g.endswith("/") for g in gone):
            continue
        out.append(Item("drive", path, "folder" if path.endswith("/") else "file", NOW,
                        {"name": name_of(path)}, deleted=True))
    return out


def _records(session: Session, account: Account, batch: list[Item]) -> dict[str, Record]:
    return records.for_batch(session.connection(), account.id, "drive", batch, NOW,
                             lambda item: {})


def fast(session: Session, sink: DriveSink, account: Account, batch: list[Item]) -> None:
    found = _records(session, account, batch)
    live = [(found[i.external_id], i) for i in batch if not i.deleted]
    assert sink.apply_many(session, account, live) == 0
    for item in batch:
        if item.deleted:
            record = found[item.external_id]
            record.deleted_at = NOW
            sink.gone(session, account, record)
    records.save(session.connection(), found.values())
    sink.settle(session)  # as the runner does before a batch commits
    session.commit()


def careful(session: Session, sink: DriveSink, account: Account, batch: list[Item]) -> None:
    found = _records(session, account, batch)
    for item in batch:
        record = found[item.external_id]
        with session.begin_nested():
            if item.deleted:
                record.deleted_at = NOW
                sink.gone(session, account, record)
            else:
                assert sink.apply(session, account, record, item)
    records.save(session.connection(), found.values())
    sink.settle(session)
    session.commit()


def snapshot(session: Session, account_id: int) -> dict[str, Any]:
    session.expire_all()
    entries = sorted((e.path, e.is_folder, e.size, e.modified, e.stable_id, e.client_id)
                     for e in index.entries(session, account_id))
    prefix = f"drive:{account_id}:"
    timeline = sorted(
        (e.client_id, e.kind, e.title, e.summary, e.occurred_at, e.share_level,
         e.source_ref.removeprefix(prefix),
         sorted((k, str(v)) for k, v in e.extra.items() if k != "account_id"))
        for e in session.scalars(select(TimelineEntry).where(
            TimelineEntry.source_ref.startswith(prefix))))
    return {"entries": entries, "timeline": timeline}


def test_listings_and_single_entries_agree(session, owner):
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    clock = Clock(NOW)
    paths = {"listings, set-based": (fast, listings),
             "listings, one by one": (careful, listings),
             "single entries": (fast, singles)}
    accounts = {name: add_account(session, owner, "webdav", {"url": "x", "username": "u"})
                for name in paths}
    previous: State = {}
    for number, state in enumerate(STATES):
        for name, (apply, items) in paths.items():
            apply(session, DriveSink(clock), accounts[name], items(previous, state))
            if number == 0:  # the first index is over; what follows is news
                session.add(SyncRun(account_id=accounts[name].id, stream="drive",
                                    status="ok", finished_at=NOW))
                session.commit()
        previous = state
        clock.advance(minutes=20)
    shots = {name: snapshot(session, account.id) for name, account in accounts.items()}
    assert shots["listings, one by one"] == shots["listings, set-based"]
    assert shots["single entries"] == shots["listings, set-based"]

    # And what they agree on is right.
    shot = shots["listings, set-based"]
    assert {row[0] for row in shot["entries"]} == set(THIRD)
    assert all(row[5] == esimerkki.id for row in shot["entries"] if row[0].startswith(ROOT))
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
    assert moved[3] == "arkisto.pdf (from Kirjanpito/2026), siirretty.pdf (from Kirjanpito/2026)"
    gone = set(session.scalars(select(SourceRecord.external_id).where(
        SourceRecord.account_id == accounts["listings, set-based"].id,
        SourceRecord.deleted_at.is_not(None))))
    assert gone == {f"/{ROOT}Tilinpäätös/"}


def test_items_that_are_no_drive_entry_are_kept_raw(session, owner):
    account = add_account(session, owner, "local", {"path": "x"})
    batch = [Item("drive", "/odd", "file", NOW, {}),
             Item("drive", "/broken/", "listing", NOW, {"folder": "broken/", "files": "x"}),
             *listings({}, {"ok.txt": facts()})]
    found = _records(session, account, batch)
    sink = DriveSink(Clock(NOW))
    pairs = [(found[i.external_id], i) for i in batch]
    assert sink.apply_many(session, account, pairs) == 2
    assert "not a drive listing or entry" in found["/odd"].data["error"]
    assert "not a drive listing or entry" in found["/broken/"].data["error"]
    records.save(session.connection(), found.values())
    sink.settle(session)
    session.commit()
    assert [e.path for e in index.entries(session, account.id)] == ["ok.txt"]
