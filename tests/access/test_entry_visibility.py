"""Property: for any firm - mailboxes with share levels, messages with copies in several
of them, private threads, drive activity - and every reader, the timeline page shows
exactly the entries a single-entry read allows, each at the level that read gives; the
message read agrees with the entries of its clients; and all of them follow the rule as
stated here from the firm's description (owners in full, a private thread for its owners
and the people they named, everyone else at their client level capped by the widest
share of the mailboxes holding it)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from hub.access.levels import Level, level_rank, widest_share
from hub.access.policy import Principal, check
from hub.accounts.models import Account
from hub.drive.service import files_level
from hub.errors import NotFound
from hub.mail.matching import sync_entries
from hub.mail.models import MailCopy, MailMessage, MailRaw, MailThread, MessageClientLink
from hub.mail.service import read_message
from hub.staff.models import User
from hub.sync.models import SourceRecord
from hub.timeline.models import TimelineEntry
from hub.timeline.service import read_entry, read_timeline
from tests.access.worlds import GRID, World, build, worlds

ORIGIN = datetime(2026, 12, 1, tzinfo=UTC)
STEP = timedelta(hours=1)
NO_FIXTURE_RESET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
SHARES = ("full", "subject", "metadata")


@dataclass(frozen=True)
class Mail:
    """Mailboxes and drives (owner, share level), threads (private to whom, or public),
    messages (thread, the mailboxes holding a copy, linked clients with a removed flag) and
    drive activity (drive, client)."""

    mailboxes: list[tuple[int, str]]
    threads: list[frozenset[int] | None]
    messages: list[tuple[int, frozenset[int], dict[int, bool]]]
    drive_entries: list[tuple[int, int]]


@st.composite
def firms(draw: st.DrawFn) -> tuple[World, Mail]:
    world = draw(worlds())
    users, clients = range(len(world.users)), range(len(world.clients))
    mailboxes = draw(st.lists(st.tuples(st.sampled_from(users), st.sampled_from(SHARES)),
                              min_size=1, max_size=3))
    boxes = range(len(mailboxes))
    threads = draw(st.lists(st.one_of(st.none(), st.frozensets(st.sampled_from(users),
                                                               max_size=2)),
                            min_size=1, max_size=2))
    messages = draw(st.lists(st.tuples(
        st.sampled_from(range(len(threads))),
        st.frozensets(st.sampled_from(boxes), min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(clients), st.booleans(), max_size=3),
    ), max_size=4))
    drive_entries = draw(st.lists(st.tuples(st.sampled_from(boxes), st.sampled_from(clients)),
                                  max_size=3))
    return world, Mail(mailboxes, threads, messages, drive_entries)


def _build_mail(session: Session, mail: Mail, users: list[User], client_ids: list[int],
                ) -> list[MailMessage]:
    accounts = [Account(owner_user_id=users[owner].id, kind="local", name=f"Box {i}",
                        settings={"path": "/nonexistent"}, share_level=share)
                for i, (owner, share) in enumerate(mail.mailboxes)]
    threads = [MailThread(subject_key=f"t{i}", is_private=to is not None,
                          private_by=None, private_to=sorted(users[u].id for u in to or ()))
               for i, to in enumerate(mail.threads)]
    session.add_all(accounts + threads)
    session.flush()
    messages = []
    for n, (thread, boxes, links) in enumerate(mail.messages):
        raw_bytes = f"Message-ID: <p{n}@firm.test>\r\n\r\nbody\r\n".encode()
        raw = MailRaw(sha256=hashlib.sha256(raw_bytes).hexdigest(), raw=raw_bytes)
        session.add(raw)
        session.flush()
        sent = ORIGIN + timedelta(minutes=n)
        message = MailMessage(message_key=f"p{n}@firm.test", thread_id=threads[thread].id,
                              raw_id=raw.id, subject=f"Subject {n}", text="body",
                              sender_address="someone@client.test", sent_at=sent)
        session.add(message)
        session.flush()
        for box in sorted(boxes):
            record = SourceRecord(account_id=accounts[box].id, stream="mail:INBOX",
                                  external_id=f"{n}", kind="message", occurred_at=sent,
                                  target_id=message.id)
            session.add(record)
            session.flush()
            session.add(MailCopy(message_id=message.id, account_id=accounts[box].id,
                                 source_record_id=record.id, folder="INBOX"))
        for client, removed in links.items():
            session.add(MessageClientLink(message_id=message.id, client_id=client_ids[client],
                                          origin="manual" if removed else "contact",
                                          removed=removed))
        session.flush()
        sync_entries(session, message)  # the entries as filing writes them
        messages.append(message)
    for n, (box, client) in enumerate(mail.drive_entries):
        account = accounts[box]
        session.add(TimelineEntry(
            client_id=client_ids[client], kind="file_activity", source_kind="drive",
            source_ref=f"drive:{n}", occurred_at=ORIGIN + timedelta(hours=1, minutes=n),
            title=f"{n} files added", owner_user_id=account.owner_user_id,
            owner_ids=[account.owner_user_id], share_level=account.share_level,
            extra={"account_id": account.id, "action": "added", "count": 1,
                   "folder": "Kirjanpito", "names": ["a.pdf"]}))
    for client_id in client_ids:
        session.add(TimelineEntry(client_id=client_id, kind="note", source_kind="note",
                                  source_ref=f"note:{client_id}", occurred_at=ORIGIN,
                                  title="note", body="text"))
    session.flush()
    return messages


def _read_one(session: Session, principal: Principal, client_id: int, entry_id: int,
              at: datetime) -> Level:
    try:
        return Level.parse(read_entry(session, principal, client_id, entry_id, at).level)
    except NotFound:
        return Level.NONE


def _read_message(session: Session, principal: Principal, message_id: int,
                  at: datetime) -> Level:
    try:
        return Level.parse(read_message(session, principal, message_id, at).level)
    except NotFound:
        return Level.NONE


def _stated(mail: Mail, index: int, user: int, client_level: Level) -> Level:
    """The rule, from the firm's description: what ``user`` sees of message ``index``."""
    thread, boxes, _ = mail.messages[index]
    owners = {mail.mailboxes[b][0] for b in boxes}
    private_to = mail.threads[thread]
    if user in owners:
        return Level.FULL
    if private_to is not None and user not in private_to:
        return Level.NONE
    return min(client_level, widest_share(mail.mailboxes[b][1] for b in boxes))


@settings(max_examples=60, deadline=None, suppress_health_check=NO_FIXTURE_RESET)
@given(firm=firms(), tick=st.integers(0, GRID))
def test_page_entry_and_message_reads_agree(session, firm: tuple[World, Mail], tick: int):
    world, mail = firm
    at = ORIGIN + tick * STEP
    try:
        users, clients = build(session, world, ORIGIN, STEP)
        client_ids = [c.id for c in clients]
        messages = _build_mail(session, mail, users, client_ids)
        entries = {cid: list(session.execute(
            select(TimelineEntry.id, TimelineEntry.source_ref, TimelineEntry.extra)
            .where(TimelineEntry.client_id == cid)).all()) for cid in client_ids}
        for u, user in enumerate(users):
            principal = Principal.of(user)
            # What each client's timeline shows this reader, entry by entry.
            shown: dict[tuple[int, str], Level] = {}
            for cid in client_ids:
                grant = check(session, principal, cid, at)
                if grant is None:
                    try:
                        read_timeline(session, principal, cid, at, limit=200)
                        raise AssertionError("an invisible client's timeline was read")
                    except NotFound:
                        pass
                    assert all(_read_one(session, principal, cid, eid, at) == Level.NONE
                               for eid, _, _ in entries[cid])
                    continue
                page = read_timeline(session, principal, cid, at, limit=200)
                listed = {item["id"]: Level.parse(item["level"]) for item in page.items}
                single = {eid: _read_one(session, principal, cid, eid, at)
                          for eid, _, _ in entries[cid]}
                assert listed == {eid: lv for eid, lv in single.items() if lv > Level.NONE}
                for eid, ref, extra in entries[cid]:
                    shown[cid, ref] = single[eid]
                    if ref.startswith("drive:"):  # browsing the drive: the same level
                        account = session.get(Account, extra["account_id"])
                        assert account is not None
                        assert files_level(principal, grant, account) == single[eid]
            # Each message: its own read agrees with its clients' entries and the rule.
            for n, message in enumerate(messages):
                links = [client_ids[c] for c, removed in mail.messages[n][2].items()
                         if not removed]
                via_entries = max((shown.get((cid, f"mail:{message.id}"), Level.NONE)
                                   for cid in links), default=Level.NONE)
                levels = [g.level for cid in links
                          if (g := check(session, principal, cid, at)) is not None]
                owners = {mail.mailboxes[b][0] for b in mail.messages[n][1]}
                stated = (Level.FULL if u in owners else
                          max((_stated(mail, n, u, lv) for lv in levels), default=Level.NONE))
                if not user.is_active:
                    stated = Level.NONE
                read = _read_message(session, principal, message.id, at)
                assert read == stated
                if u not in owners:
                    assert read == via_entries
                else:  # an owner sees their mail in full, and so each of its entries
                    assert all(shown.get((cid, f"mail:{message.id}")) in (None, Level.FULL)
                               for cid in links)
    finally:
        session.rollback()


def test_one_order_of_levels_in_python_and_sql(session):
    assert sorted(Level) == [Level.NONE, Level.METADATA, Level.SUBJECT, Level.FULL]
    for level in Level:
        assert Level.parse(level.label) is level
        assert session.scalar(select(level_rank(literal(level.label)))) == int(level)
    assert session.scalar(select(level_rank(literal("unknown")))) == 0
    assert widest_share([]) == Level.FULL
    assert widest_share(["metadata", "subject"]) == Level.SUBJECT


def test_levels_are_ranked_in_one_place():
    """A level name becomes an order only in hub/access/levels.py: no other module keeps
    a rank table of its own or compares a stored level to a name."""
    root = Path(__file__).resolve().parents[2]
    rank_table = re.compile(r"""["'](?:metadata|subject|full)["']\s*:\s*(?:Level\.|\d)""")
    compared = re.compile(r"""[=!]=\s*["'](?:metadata|subject|full)["']""")
    found = [f"{path.relative_to(root)}:{n}"
             for package in ("hub", "api", "workers")
             for path in sorted((root / package).rglob("*.py"))
             if path != root / "hub" / "access" / "levels.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if rank_table.search(line) or compared.search(line)]
    assert found == []
