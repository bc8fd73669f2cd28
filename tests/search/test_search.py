"""Search across clients, on SQLite (FTS5) and PostgreSQL (tsvector): each kind is found,
Finnish letters count, prefixes find words, changes are found at once, and nothing is
found that the searcher may not see - at the level a single read would show it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from hub.access.models import AccessRule, AuditEntry
from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.clients.models import Client, Contact, ContactEmail
from hub.drive.listing import FileRow
from hub.drive.models import ClientRoot, DriveFolder
from hub.errors import InvalidInput
from hub.mail.matching import sync_entries
from hub.mail.models import MailCopy, MailMessage, MailRaw, MailThread, MessageClientLink
from hub.search.service import search
from hub.staff.models import User
from hub.sync.models import SourceRecord
from hub.timeline.models import TimelineEntry
from hub.timeline.schemas import NoteIn
from hub.timeline.service import add_note
from tests import factories as f
from tests.api.conftest import ok

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def mail(session, mailbox: Account, client: Client | None, subject: str, text: str,
         *, private_to: list[int] | None = None) -> MailMessage:
    """A filed message in ``mailbox``, linked to ``client``, with its timeline entry."""
    n = session.scalar(select(MailMessage.id).order_by(MailMessage.id.desc()).limit(1)) or 0
    raw_bytes = f"Message-ID: <s{n}@firm.test>\r\n\r\n{text}\r\n".encode()
    raw = MailRaw(sha256=hashlib.sha256(raw_bytes).hexdigest(), raw=raw_bytes)
    thread = MailThread(subject_key=subject.lower(), is_private=private_to is not None,
                        private_to=private_to or [])
    session.add_all([raw, thread])
    session.flush()
    message = MailMessage(message_key=f"s{n}@firm.test", thread_id=thread.id, raw_id=raw.id,
                          subject=subject, text=text, sender_address="x@client.test",
                          sent_at=NOW - timedelta(minutes=n))
    session.add(message)
    session.flush()
    record = SourceRecord(account_id=mailbox.id, stream="mail:INBOX", external_id=str(n),
                          kind="message", occurred_at=NOW, target_id=message.id)
    session.add(record)
    session.flush()
    session.add(MailCopy(message_id=message.id, account_id=mailbox.id,
                         source_record_id=record.id, folder="INBOX"))
    if client is not None:
        session.add(MessageClientLink(message_id=message.id, client_id=client.id,
                                      origin="contact"))
    session.flush()
    sync_entries(session, message)
    return message


def folder(session, drive: Account, client: Client, path: str, names: list[str]) -> DriveFolder:
    row = DriveFolder(account_id=drive.id, path=path, parent=path.rstrip("/").rpartition("/")[0],
                      name=path.rstrip("/").rpartition("/")[2], client_id=client.id,
                      files=[FileRow(n, 100) for n in names], file_count=len(names),
                      listed=True)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def firm(session):
    """A reader responsible for one client (at a level the test sets: full by default),
    with its contact, mail, a note and a drive folder; a second client nobody sees."""
    session.execute(delete(AccessRule))
    rule = f.rule(session, "role", "full", role="asiakasvastaava")
    reader = f.user(session, name="Liisa Lukija")
    owner = f.user(session, name="Olli Omistaja")
    client = f.client(session, name="Kahvila Äänekoski Oy")
    client.business_id = "1234567-8"
    client.contacts = [Contact(name="Pirjo Päätalo", role="toimitusjohtaja",
                               emails=[ContactEmail(email="pirjo.paatalo@kahvila.fi")])]
    hidden = f.client(session, name="Salainen Äänekoski Ab")
    hidden.contacts = [Contact(name="Pertti Päätalo", role="hallitus",
                               emails=[ContactEmail(email="pertti@salainen.fi")])]
    f.responsibility(session, session.get(User, reader.id), client)
    f.responsibility(session, session.get(User, owner.id), client)
    mailbox = f.account(session, owner, kind="imap")
    drive = f.account(session, owner)
    mail(session, mailbox, client, "Tilinpäätös 2025", "Liitteenä tase ja kassavirtalaskelma.")
    mail(session, mailbox, hidden, "Tilinpäätös salaisuus", "Konkurssiuhka, älä kerro.")
    session.add(ClientRoot(account_id=drive.id, path="1001 Kahvila/", client_id=client.id,
                           origin="manual"))
    folder(session, drive, client, "1001 Kahvila/Kirjanpito/", ["Pääkirja_2025.pdf",
                                                                 "tosite.png"])
    folder(session, drive, hidden, "1002 Salainen/", ["Pääkirja_salainen.pdf"])
    session.flush()
    add_note(session, Principal.of(owner), client.id,
             NoteIn(text="Soitettu\nAsiakas pyysi ALV-ilmoituksen lykkäystä."), NOW)
    session.commit()
    return {"reader": Principal.of(reader), "owner": Principal.of(owner), "client": client,
            "hidden": hidden, "rule": rule, "mailbox": mailbox}


def kinds(hits) -> set[tuple[str, int]]:
    return {(h.kind, h.client_id) for h in hits}


def test_each_kind_is_found(session, firm):
    reader, cid = firm["reader"], firm["client"].id
    expected = {
        "äänekoski": {("client", cid)},
        "1234567-8": {("client", cid)},
        "päätalo": {("contact", cid)},
        "pirjo.paatalo@kahvila.fi": {("contact", cid)},
        "kahvila": {("client", cid), ("contact", cid)},  # the name, the address
        "tilinpäätös": {("message", cid)},
        "kassavirtalaskelma": {("message", cid)},
        "lykkäystä": {("note", cid)},
        "pääkirja": {("file", cid)},
        "pdf": {("file", cid)},
    }
    for query, found in expected.items():
        assert kinds(search(session, reader, query, at=NOW)) == found, query
    [file_hit] = search(session, reader, "pääkirja", at=NOW)
    assert file_hit.title == "Pääkirja_2025.pdf"
    assert file_hit.link == f"/clients/{cid}/files?path=Kirjanpito/"
    [note] = search(session, reader, "ALV", at=NOW)
    assert note.title == "Soitettu" and note.link.startswith(f"/clients/{cid}#entry-")
    assert [p.text for p in note.passage if p.match] == ["ALV"]


def test_finnish_letters_count_and_case_does_not(session, firm):
    reader, cid = firm["reader"], firm["client"].id
    assert kinds(search(session, reader, "ÄÄNEKOSKI", at=NOW)) == {("client", cid)}
    assert search(session, reader, "aanekoski", at=NOW) == []  # a is not ä
    assert kinds(search(session, reader, "paatalo", at=NOW)) == {("contact", cid)}  # address
    assert kinds(search(session, reader, "tilinpaatos", at=NOW)) == set()


def test_prefixes_find_words_as_they_are_typed(session, firm):
    reader, cid = firm["reader"], firm["client"].id
    assert kinds(search(session, reader, "tilinp", at=NOW)) == {("message", cid)}
    assert kinds(search(session, reader, "pääk", at=NOW)) == {("file", cid)}
    assert kinds(search(session, reader, "äänek kah", at=NOW)) == {("client", cid)}
    assert search(session, reader, "ä", at=NOW) == []  # one letter finds nothing
    [message] = search(session, reader, "tilinp", at=NOW)
    assert [p.text for p in message.passage if p.match] == ["Tilinpäätös"]


def test_a_renamed_client_and_a_new_note_are_found_at_once(api, session, firm, make_caller):
    admin = make_caller(admin=True)
    reader = firm["reader"]
    headers = {"Authorization": f"Bearer {f.token(session, session.get(User, reader.user_id))}"}
    session.commit()
    cid = firm["client"].id
    ok(api.patch(f"/api/v1/clients/{cid}", json={"name": "Kahvila Örö Oy"},
                 headers=admin.headers))
    found = ok(api.get("/api/v1/search", params={"q": "örö"}, headers=headers))["hits"]
    assert [(h["kind"], h["client_name"]) for h in found] == [("client", "Kahvila Örö Oy")]
    assert ok(api.get("/api/v1/search", params={"q": "äänekoski"}, headers=headers)) == {
        "query": "äänekoski", "hits": []}
    ok(api.post(f"/api/v1/clients/{cid}/notes", json={"text": "Hyväksytty välitilinpäätös"},
                headers=headers), 201)
    found = ok(api.get("/api/v1/search", params={"q": "välitilin", "kind": "note"},
                       headers=headers))["hits"]
    assert [h["title"] for h in found] == ["Hyväksytty välitilinpäätös"]


def test_an_invisible_clients_data_is_never_found(api, session, firm, make_caller):
    outsider = make_caller(name="Ulla Ulkopuolinen")
    for query in ("äänekoski", "päätalo", "tilinpäätös", "konkurssiuhka", "pääkirja",
                  "1234567", "lykkäystä"):
        answer = api.get("/api/v1/search", params={"q": query}, headers=outsider.headers)
        assert ok(answer) == {"query": query, "hits": []}
    # The reader sees one of the two clients with the same words.
    reader = firm["reader"]
    for query in ("äänekoski", "päätalo", "tilinpäätös", "pääkirja"):
        assert {h.client_id for h in search(session, reader, query, at=NOW)} == {
            firm["client"].id}, query
    assert search(session, reader, "konkurssiuhka", at=NOW) == []


def test_a_subject_reader_finds_titles_by_titles_and_a_metadata_reader_no_text(session, firm):
    reader, cid = firm["reader"], firm["client"].id
    firm["rule"].level = "subject"
    session.commit()
    assert kinds(search(session, reader, "tilinpäätös", at=NOW)) == {("message", cid)}
    [message] = search(session, reader, "tilinpäätös", at=NOW)
    assert "".join(p.text for p in message.passage) == "Tilinpäätös 2025"  # no body
    assert search(session, reader, "kassavirtalaskelma", at=NOW) == []  # in the body only
    assert kinds(search(session, reader, "soitettu", at=NOW)) == {("note", cid)}
    assert search(session, reader, "lykkäystä", at=NOW) == []
    assert kinds(search(session, reader, "pääkirja", at=NOW)) == {("file", cid)}
    # The mailbox's owner sees their own mail in full at any level of the client.
    assert kinds(search(session, firm["owner"], "kassavirtalaskelma", at=NOW)) == {
        ("message", cid)}
    firm["rule"].level = "metadata"
    session.commit()
    for query in ("tilinpäätös", "soitettu", "pääkirja"):
        assert search(session, reader, query, at=NOW) == [], query
    assert kinds(search(session, reader, "äänekoski päätalo", at=NOW)) == set()
    assert kinds(search(session, reader, "päätalo", at=NOW)) == {("contact", cid)}


def test_a_private_thread_is_found_only_by_those_it_is_shown_to(session, firm):
    reader, owner, client = firm["reader"], firm["owner"], firm["client"]
    mail(session, firm["mailbox"], client, "Palkkaneuvottelu", "Luottamuksellinen",
         private_to=[])
    session.commit()
    assert search(session, reader, "palkkaneuvottelu", at=NOW) == []
    assert kinds(search(session, owner, "palkkaneuvottelu", at=NOW)) == {("message", client.id)}


def test_each_search_is_audited_without_its_words(session, firm):
    reader = firm["reader"]
    hits = search(session, reader, "tilinpäätös", at=NOW)
    row = session.scalars(select(AuditEntry).where(AuditEntry.action == "search")).one()
    assert row.actor_user_id == reader.user_id
    assert row.detail["query_length"] == len("tilinpäätös")
    assert row.detail["hits"] == [["message", hits[0].client_id, hits[0].ref]]
    assert "tilinpäätös" not in str(row.detail).lower()


def test_limits_and_kinds_are_checked(session, firm):
    with pytest.raises(InvalidInput):
        search(session, firm["reader"], "kahvila", limit=0)
    with pytest.raises(InvalidInput):
        search(session, firm["reader"], "kahvila", kinds=["everything"])
    assert kinds(search(session, firm["reader"], "kahvila", kinds=["contact"], at=NOW)) == {
        ("contact", firm["client"].id)}


def test_a_second_mailbox_owner_finds_the_text_on_a_client_seen_at_metadata(session, firm):
    """The message is in two mailboxes; the reader owns the second, whose copy names them
    among the owners but not as the entry's first owner."""
    client = firm["client"]
    firm["rule"].level = "metadata"
    late = f.user(session, name="Mikko Myöhäinen")  # after the first owner: a higher id
    f.responsibility(session, late, client)
    reader = Principal.of(late)
    message = mail(session, firm["mailbox"], client, "Yhteinen", "Vuokrasopimus liitteenä")
    own_box = f.account(session, late, kind="imap")
    record = SourceRecord(account_id=own_box.id, stream="mail:INBOX", external_id="own",
                          kind="message", occurred_at=NOW, target_id=message.id)
    session.add(record)
    session.flush()
    session.add(MailCopy(message_id=message.id, account_id=own_box.id,
                         source_record_id=record.id, folder="INBOX"))
    session.flush()
    sync_entries(session, message)
    session.commit()
    [entry] = session.scalars(select(TimelineEntry).where(
        TimelineEntry.source_ref == f"mail:{message.id}"))
    assert entry.owner_user_id != late.id and late.id in entry.owner_ids
    assert kinds(search(session, reader, "vuokrasopimus", at=NOW)) == {("message", client.id)}
