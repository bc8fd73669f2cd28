"""Property: for any firm (tests/access's random firms: rules, responsibilities, covers,
mailboxes with share levels, private threads, drives) and every reader, a search shows
exactly what the single reads allow - a client when it may be seen, a message or note by
its title when a read of it shows the title, by its text only when a read shows it in
full, a folder's file names when browsing the drive shows them - and never more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.levels import Level
from hub.access.policy import Principal, check
from hub.accounts.models import Account
from hub.drive.listing import FileRow
from hub.drive.models import DriveFolder
from hub.drive.service import files_level
from hub.search.service import search
from hub.timeline.models import TimelineEntry
from tests.access.test_entry_visibility import NO_FIXTURE_RESET, Mail, _build_mail, _read_one, firms
from tests.access.worlds import GRID, World, build

ORIGIN = datetime(2026, 12, 1, tzinfo=UTC)
STEP = timedelta(hours=1)


def _folders(session: Session, mail: Mail, client_ids: list[int]) -> list[DriveFolder]:
    """A folder with a file for each drive entry of the firm, in that drive."""
    accounts = list(session.scalars(select(Account).order_by(Account.id)))
    folders = [DriveFolder(account_id=accounts[box].id, path=f"F{n}/", parent="",
                           name=f"F{n}", client_id=client_ids[client],
                           files=[FileRow(f"liite{n}.pdf", 1)], file_count=1, listed=True)
               for n, (box, client) in enumerate(mail.drive_entries)]
    session.add_all(folders)
    session.flush()
    return folders


@settings(max_examples=40, deadline=None, suppress_health_check=NO_FIXTURE_RESET)
@given(firm=firms(), tick=st.integers(0, GRID))
def test_search_shows_what_single_reads_allow(session, firm: tuple[World, Mail], tick: int):
    world, mail = firm
    at = ORIGIN + tick * STEP
    try:
        users, clients = build(session, world, ORIGIN, STEP)
        client_ids = [c.id for c in clients]
        messages = _build_mail(session, mail, users, client_ids)
        folders = _folders(session, mail, client_ids)
        entries = list(session.execute(select(
            TimelineEntry.id, TimelineEntry.client_id, TimelineEntry.kind,
            TimelineEntry.source_ref)).all())
        for user in users:
            principal = Principal.of(user)
            grants = {cid: check(session, principal, cid, at) for cid in client_ids}
            entry_level = {eid: _read_one(session, principal, cid, eid, at)
                           for eid, cid, _, _ in entries}

            def found(query: str, kind: str, principal: Principal = principal) -> set[int]:
                hits = search(session, principal, query, limit=50, kinds=[kind], at=at)
                return {h.ref for h in hits}

            def best(ref: str, levels: dict[int, Level] = entry_level) -> Level:
                return max((levels[eid] for eid, _, _, r in entries if r == ref),
                           default=Level.NONE)

            # Clients: the visible ones, whatever the level.
            for n, cid in enumerate(client_ids):
                assert found(f"C{n}", "client") == ({cid} if grants[cid] else set())
            # Mail: by the subject at subject level, by the text in full.
            assert found("subject", "message") == {
                m.id for m in messages if best(f"mail:{m.id}") >= Level.SUBJECT}
            assert found("body", "message") == {
                m.id for m in messages if best(f"mail:{m.id}") >= Level.FULL}
            # Notes (title "note", text "text").
            notes = [(eid, cid) for eid, cid, kind, _ in entries if kind == "note"]
            assert found("note", "note") == {
                eid for eid, _ in notes if entry_level[eid] >= Level.SUBJECT}
            assert found("text", "note") == {
                eid for eid, _ in notes if entry_level[eid] >= Level.FULL}
            # File names: as browsing the drive shows them.
            shown = set()
            for folder in folders:
                grant = grants[folder.client_id]
                account = session.get(Account, folder.account_id)
                assert account is not None
                if grant and files_level(principal, grant, account) >= Level.SUBJECT:
                    shown.add(folder.id)
            assert found("liite", "file") == shown
    finally:
        session.rollback()
