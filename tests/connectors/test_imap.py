"""The IMAP connector against a real Dovecot, with and without CONDSTORE/QRESYNC.

The tests drive the connector as the runner does, through a small in-memory store that
takes items only when a checkpoint commits them and keeps the last checkpoint's cursor.
Every test gets a mailbox of its own.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import pytest

from connectors.imap import ImapConnector, pick_sent_folder
from connectors.imap.connector import imap_date
from connectors.imap.session import FolderInfo, ImapSession, is_loopback
from connectors.imap.uidset import UidSet
from connectors.mail.parse import parse_message
from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError
from tests.peers.dovecot import DovecotServer, MailUser
from tests.peers.postgres import free_port

FINNISH_SUBJECT = "Tilinpäätös 2024: ÄÖÅ äöå, palkkio 1 250 €"
FINNISH_BODY = "Hyvää päivää! Lasku on 1 250 € ja eräpäivä on 31.3.\n"
FINNISH_FOLDER = "Asiakkaat/Äijälä Oy"
BASE = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def make_mail(n: int, *, subject: str | None = None, body: str | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Asiakas Oy <kirjanpito@asiakas.example>"
    msg["To"] = "toimisto@tilitoimisto.example"
    msg["Subject"] = subject or f"Message {n}"
    msg["Date"] = format_datetime(BASE + timedelta(hours=n))
    msg["Message-ID"] = f"<m{n}@asiakas.example>"
    msg.set_content(body or f"Body of message {n}.\n")
    return msg.as_bytes()


_OPENED: list[ImapConnector] = []


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    """A connector keeps its connection for the next folder; the runner closes it after
    a sync, and here each test's are closed after it."""
    yield
    while _OPENED:
        _OPENED.pop().close()


def connector(user: MailUser, **options: Any) -> ImapConnector:
    conn = ImapConnector(
        "127.0.0.1",
        user.server.port,
        user.name,
        user.password,
        security="plain",
        timeout=20,
        **options,
    )
    _OPENED.append(conn)
    return conn


@dataclass
class Store:
    """One stream as the hub keeps it: items and cursor land together at a checkpoint."""

    stream: str
    cursor: dict[str, Any] | None = None
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    committed: list[Item] = field(default_factory=list)
    checkpoints: int = 0

    def sync(self, conn: ImapConnector) -> list[Item]:
        return self.feed(conn.read(self.stream, self.cursor))

    def feed(
        self, outputs: Iterable[Item | Checkpoint], *, stop_after: int | None = None
    ) -> list[Item]:
        """Applies what the reader yields; what follows the last checkpoint is lost, as
        an uncommitted transaction would be."""
        done: list[Item] = []
        pending: list[Item] = []
        for out in outputs:
            assert out.stream == self.stream
            if isinstance(out, Item):
                pending.append(out)
                continue
            for item in pending:
                self._apply(item)
            done += pending
            self.committed += pending
            pending = []
            self.cursor = dict(out.cursor)
            self.checkpoints += 1
            if stop_after is not None and self.checkpoints >= stop_after:
                break
        assert not pending, "items after the last checkpoint"
        return done

    def _apply(self, item: Item) -> None:
        assert item.occurred_at.tzinfo is not None
        key = item.external_id
        if item.deleted:
            assert key in self.messages
            self.deleted.add(key)
        elif item.kind == "message":
            self.messages[key] = dict(item.data)
            self.deleted.discard(key)
        else:
            assert item.kind == "flags"
            self.messages[key]["flags"] = list(item.data["flags"])

    def live(self) -> dict[int, dict[str, Any]]:
        return {m["uid"]: m for k, m in self.messages.items() if k not in self.deleted}


def messages(items: Iterable[Item]) -> list[Item]:
    return [i for i in items if i.kind == "message" and not i.deleted]


def test_initial_sync(mailbox: MailUser) -> None:
    server: DovecotServer = mailbox.server
    raw = [make_mail(n) for n in range(1, 7)] + [
        make_mail(7, subject=FINNISH_SUBJECT, body=FINNISH_BODY)
    ]
    mailbox.append("INBOX", raw[:1], flags=["\\Flagged"])
    mailbox.append("INBOX", raw[1:])
    mailbox.append("Sent", [make_mail(20), make_mail(21)], flags=["\\Seen"])
    mailbox.create_folder(FINNISH_FOLDER)
    mailbox.append(FINNISH_FOLDER, [make_mail(30)])
    uidvalidity = mailbox.status("INBOX")[b"UIDVALIDITY"]
    conn = connector(mailbox, batch_size=3, folders=[FINNISH_FOLDER])

    assert conn.streams() == ["mail:INBOX", "mail:Sent", f"mail:{FINNISH_FOLDER}"]
    inbox = Store("mail:INBOX")
    items = inbox.sync(conn)

    assert [i.kind for i in items] == ["message"] * 7
    assert inbox.checkpoints == 4  # batches of 3, 3 and 1, then the closing one
    by_uid = {i.data["uid"]: i for i in items}
    assert sorted(by_uid) == [1, 2, 3, 4, 5, 6, 7]
    for uid, item in by_uid.items():
        assert item.external_id == f"{uidvalidity}:{uid}"
        assert item.data["raw"] == raw[uid - 1]
        assert item.data["headers_only"] is False
        assert item.data["folder"] == "INBOX"
        assert item.data["uidvalidity"] == uidvalidity
        assert item.data["size"] == len(raw[uid - 1])
        # When the server received it (INTERNALDATE, set here at APPEND time); the Date
        # header is read when the hub files it.
        assert item.data["received"] is True
        assert item.occurred_at.tzinfo is not None
        assert abs(item.occurred_at - datetime.now(UTC)) < timedelta(minutes=5)
        assert "parsed" not in item.data
    assert by_uid[1].data["flags"] == ["\\Flagged"]
    assert by_uid[2].data["flags"] == []
    finnish = parse_message(by_uid[7].data["raw"])
    assert finnish.subject == FINNISH_SUBJECT
    assert "1 250 €" in finnish.text
    assert finnish.message_id == "m7@asiakas.example"

    cursor = inbox.cursor
    assert cursor is not None
    assert (cursor["uidvalidity"], cursor["uidnext"], cursor["uids"]) == (uidvalidity, 8, "1:7")
    if server.condstore:
        assert isinstance(cursor["highestmodseq"], int)
        assert "flagsums" not in cursor
    else:
        assert cursor["highestmodseq"] is None
        assert len(cursor["flagsums"]) == 3

    # Reading changed nothing on the server: no message became \Seen.
    assert all("\\Seen" not in flags for flags in mailbox.flags("INBOX").values())

    sent = Store("mail:Sent")
    assert [i.data["flags"] for i in sent.sync(conn)] == [["\\Seen"], ["\\Seen"]]
    folder = Store(f"mail:{FINNISH_FOLDER}")
    (only,) = folder.sync(conn)
    assert only.data["folder"] == FINNISH_FOLDER
    assert parse_message(only.data["raw"]).subject == "Message 30"

    # Nothing new: a run yields only its closing checkpoint.
    assert inbox.sync(conn) == []
    assert inbox.checkpoints == 5


def test_capabilities_of_the_two_flavours(mailbox: MailUser) -> None:
    with mailbox.client() as c:
        caps = set(c.capabilities())
    assert {b"ESEARCH", b"SPECIAL-USE", b"MULTIAPPEND"} <= caps
    if mailbox.server.condstore:
        assert {b"CONDSTORE", b"QRESYNC"} <= caps
    else:
        assert not caps & {b"CONDSTORE", b"QRESYNC"}


def test_incremental_new_flags_deleted_moved(mailbox: MailUser) -> None:
    mailbox.append("INBOX", [make_mail(n) for n in range(1, 5)])
    mailbox.create_folder("Archive")
    conn = connector(mailbox, folders=["Archive"])
    inbox, archive = Store("mail:INBOX"), Store("mail:Archive")
    assert len(inbox.sync(conn)) == 4
    assert archive.sync(conn) == []

    mailbox.append("INBOX", [make_mail(5), make_mail(6)])
    mailbox.add_flags("INBOX", [1], ["\\Seen", "$Invoiced"])
    mailbox.expunge("INBOX", [2])
    mailbox.move("INBOX", [3], "Archive")
    items = inbox.sync(conn)

    assert sorted(i.data["uid"] for i in messages(items)) == [5, 6]
    assert sorted(i.data["uid"] for i in items if i.deleted) == [2, 3]
    flag_uids = {i.data["uid"] for i in items if i.kind == "flags"}
    # With CONDSTORE only the changed message; without it the whole digest chunk.
    assert flag_uids == ({1} if mailbox.server.condstore else {1, 4})
    live = inbox.live()
    assert sorted(live) == [1, 4, 5, 6]
    assert live[1]["flags"] == ["$Invoiced", "\\Seen"]
    assert live[4]["flags"] == []
    assert inbox.cursor is not None
    assert inbox.cursor["uids"] == "1,4:6"
    assert inbox.cursor["uidnext"] == 7

    (moved,) = archive.sync(conn)
    assert parse_message(moved.data["raw"]).message_id == "m3@asiakas.example"

    # A flag taken away is a change too; then a quiet run yields nothing at all.
    mailbox.set_flags("INBOX", [1], ["$Invoiced"])
    items = inbox.sync(conn)
    assert {i.data["uid"] for i in items if i.kind == "flags"} >= {1}
    assert all(i.kind == "flags" for i in items)
    assert inbox.live()[1]["flags"] == ["$Invoiced"]
    assert inbox.sync(conn) == []

    server_flags = mailbox.flags("INBOX")
    assert all("\\Seen" not in server_flags[uid] for uid in (4, 5, 6))


def test_uidvalidity_change_invalidates_the_cursor(mailbox: MailUser) -> None:
    mailbox.append("INBOX", [make_mail(1), make_mail(2)])
    conn = connector(mailbox)
    store = Store("mail:INBOX")
    store.sync(conn)
    old = mailbox.status("INBOX")[b"UIDVALIDITY"]
    mailbox.set_uidvalidity("INBOX", old + 1000)

    with pytest.raises(CursorInvalidated) as raised:
        list(conn.read("mail:INBOX", store.cursor))
    assert raised.value.stream == "mail:INBOX"
    assert str(old) in raised.value.reason

    # The runner drops the cursor and reads the folder again under the new UIDVALIDITY.
    fresh = Store("mail:INBOX")
    assert [i.external_id for i in fresh.sync(conn)] == [f"{old + 1000}:1", f"{old + 1000}:2"]


def test_headers_only_over_the_size_limit(mailbox: MailUser) -> None:
    big = make_mail(1, body="rivi " * 4000 + "\n")
    small = make_mail(2)
    mailbox.append("INBOX", [big, small])
    conn = connector(mailbox, size_limit=4096)
    items = {i.data["uid"]: i for i in Store("mail:INBOX").sync(conn)}

    head = items[1].data
    assert head["headers_only"] is True
    assert head["size"] == len(big)
    assert big.startswith(head["raw"]) and head["raw"].endswith(b"\r\n\r\n")
    assert len(head["raw"]) < 1000
    headers = parse_message(head["raw"])
    assert headers.subject == "Message 1"
    assert headers.date == BASE + timedelta(hours=1)
    assert items[2].data["headers_only"] is False
    assert items[2].data["raw"] == small
    assert all("\\Seen" not in f for f in mailbox.flags("INBOX").values())


def test_dropped_connection_resumes_from_the_last_checkpoint(mailbox: MailUser) -> None:
    mailbox.append("INBOX", [make_mail(n) for n in range(1, 11)])
    conn = connector(mailbox, batch_size=3)
    store = Store("mail:INBOX")
    reading = conn.read("mail:INBOX", None)
    store.feed(reading, stop_after=1)
    assert sorted(store.live()) == [1, 2, 3]

    mailbox.kick()  # the server drops the connection mid-sync
    with pytest.raises(SourceError) as raised:
        store.feed(reading)
    assert raised.value.retryable
    assert "resume" in raised.value.message
    # The next batches' FETCHes went out before the first was handed on; those whose
    # answers were already read when the connection broke are whole and committed too.
    assert sorted(store.live()) in ([1, 2, 3], [*range(1, 7)], [*range(1, 10)])

    store.sync(conn)
    ids = [i.external_id for i in messages(store.committed)]
    assert len(ids) == len(set(ids)) == 10
    assert sorted(store.live()) == list(range(1, 11))
    assert store.cursor is not None
    assert store.cursor["uids"] == "1:10"


def test_condstore_without_qresync_diffs_uids(
    condstore_mailbox: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    examine = ImapSession.examine

    def without_qresync(self: ImapSession, folder: str) -> FolderInfo:
        self.capabilities = self.capabilities - {"QRESYNC"}
        return examine(self, folder)

    monkeypatch.setattr(ImapSession, "examine", without_qresync)
    mailbox = condstore_mailbox
    mailbox.append("INBOX", [make_mail(n) for n in range(1, 5)])
    conn = connector(mailbox)
    store = Store("mail:INBOX")
    store.sync(conn)
    mailbox.expunge("INBOX", [2])
    mailbox.add_flags("INBOX", [3], ["\\Answered"])
    items = store.sync(conn)
    assert [(i.data["uid"], i.kind, i.deleted) for i in items] == [
        (2, "message", True),
        (3, "flags", False),
    ]
    assert sorted(store.live()) == [1, 3, 4]
    assert store.cursor is not None
    assert isinstance(store.cursor["highestmodseq"], int)


def test_since_skips_older_mail(condstore_mailbox: MailUser) -> None:
    condstore_mailbox.append("INBOX", [make_mail(1)], when=datetime(2020, 5, 1, tzinfo=UTC))
    condstore_mailbox.append("INBOX", [make_mail(2)], when=datetime(2024, 5, 1, tzinfo=UTC))
    conn = connector(condstore_mailbox, since=date(2023, 1, 1))
    store = Store("mail:INBOX")
    assert [i.data["uid"] for i in store.sync(conn)] == [2]
    assert store.cursor is not None
    assert (store.cursor["uids"], store.cursor["uidnext"]) == ("2", 3)


def test_refused_login_and_unreachable_server(dovecot: DovecotServer) -> None:
    user = dovecot.add_user()
    wrong = ImapConnector(
        "127.0.0.1", dovecot.port, user.name, "not-the-password", security="plain"
    )
    with pytest.raises(SourceError, match=f"refused the login for {user.name}") as raised:
        wrong.check()
    assert not raised.value.retryable
    connector(user).check()
    with pytest.raises(SourceError, match="cannot open the folder 'Nowhere'") as raised:
        list(connector(user).read("mail:Nowhere", None))
    assert not raised.value.retryable

    nobody_home = ImapConnector("127.0.0.1", free_port(), "x", "y", security="plain")
    with pytest.raises(SourceError, match=r"cannot reach 127\.0\.0\.1") as raised:
        nobody_home.check()
    assert raised.value.retryable


def test_plain_is_refused_to_a_remote_host_without_contacting_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("the connector tried to connect")

    monkeypatch.setattr(socket, "create_connection", no_network)
    remote = ImapConnector("mail.asiakas.example", 143, "x", "y", security="plain")
    for attempt in (remote.check, remote.streams, lambda: list(remote.read("mail:INBOX", None))):
        with pytest.raises(SourceError, match="without encryption"):
            attempt()
    for host in ("localhost", "127.0.0.1", "127.8.0.1", "::1", "[::1]"):
        assert is_loopback(host)
    for host in ("192.0.2.10", "localhost.asiakas.example", "10.0.0.1", "::ffff:10.0.0.1"):
        assert not is_loopback(host)


def test_sent_folder_by_special_use_or_by_name() -> None:
    plain = frozenset({"\\HASNOCHILDREN"})
    marked = [(plain, "INBOX"), (frozenset({"\\SENT"}), "Lähetetyt viestit"), (plain, "Sent")]
    assert pick_sent_folder(marked) == "Lähetetyt viestit"
    assert pick_sent_folder([(plain, "INBOX"), (plain, "Lähetetyt")]) == "Lähetetyt"
    assert pick_sent_folder([(plain, "INBOX"), (plain, "INBOX.Sent Items")]) == "INBOX.Sent Items"
    assert pick_sent_folder([(plain, "INBOX")]) is None
    assert imap_date(date(2024, 3, 5)) == "05-Mar-2024"


def test_uid_sets_stay_compact() -> None:
    uids = UidSet.parse("1:5,7,9:12")
    assert str(uids) == "1:5,7,9:12" and len(uids) == 10
    uids.add(6)
    uids.add(8)
    assert str(uids) == "1:12"
    uids.discard(4)
    assert str(uids) == "1:3,5:12" and 4 not in uids and 5 in uids
    uids.add_range(20, 30)
    uids.add_range(13, 19)
    assert str(uids) == "1:3,5:30"
    assert str(uids.between(3, 7)) == "3,5:7"
    assert str(uids.difference(UidSet.parse("2,10:25"))) == "1,3,5:9,26:30"
    assert str(uids.intersection(UidSet.parse("2,10:25,40"))) == "2,10:25"
    assert [str(c) for c in UidSet.parse("1:4,9,11:12").chunks(3)] == ["1:3", "4,9,11", "12"]
    assert UidSet.of([5, 3, 4, 9]) == UidSet.parse("3:5,9")
    with pytest.raises(ValueError):
        UidSet.parse("1:*")


def test_large_mail_is_fetched_in_parts_that_keep_memory_bounded(
    mailbox: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages above SMALL have their sizes asked for, and no FETCH asks for more than
    FETCH_BYTES of bodies (a single larger message alone); small ones need no sizes."""
    import connectors.imap.connector as imap_connector

    monkeypatch.setattr(imap_connector, "FETCH_BYTES", 250_000)
    bodies = {n: ("rivi " * 14 + "\n") * 1430 if n % 3 == 0 else f"pieni {n}\n"
              for n in range(1, 13)}
    mailbox.append("INBOX", [make_mail(n, body=bodies[n]) for n in bodies])
    asked: list[tuple[str, list[str]]] = []
    send = ImapSession.send_fetch

    def recording(self: ImapSession, uids: str, items: Any) -> bytes:
        asked.append((uids, list(items)))
        return send(self, uids, items)

    sized: set[int] = set()
    fetch = ImapSession.fetch

    def sizing(self: ImapSession, uids: str, items: Any, modifiers: Any = ()) -> Any:
        if "RFC822.SIZE" in items:
            sized.update(UidSet.parse(uids))
        return fetch(self, uids, items, modifiers)

    monkeypatch.setattr(ImapSession, "send_fetch", recording)
    monkeypatch.setattr(ImapSession, "fetch", sizing)
    items = messages(Store("mail:INBOX").sync(connector(mailbox, batch_size=6)))
    assert sized == {3, 6, 9, 12}  # only the large ones

    assert sorted(i.data["uid"] for i in items) == list(range(1, 13))
    assert all(not i.data["headers_only"] for i in items)
    assert all(bodies[i.data["uid"]].encode() in i.data["raw"].replace(b"\r\n", b"\n")
               for i in items)
    for uids, _ in asked:
        wanted = [u for u in UidSet.parse(uids)]
        big = [u for u in wanted if u % 3 == 0]
        small = len(wanted) - len(big)
        # 100 KB each for the big ones, SMALL (64 KB) assumed for each of the others.
        assert len(wanted) == 1 or 100_000 * len(big) + 65_536 * small <= 250_000, uids
    assert len(asked) > 2
