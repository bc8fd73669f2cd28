"""Mail from archive accounts through the runner into messages, threads, links, timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from hub.access.policy import Principal
from hub.clients.schemas import ClientPatch, ContactIn
from hub.flows.clients import update_client
from hub.mail import service as mail_service
from hub.mail.models import MailCopy, MailMessage, MailThread, MessageClientLink
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.mail.conftest import client_with_contact, count, mail
from workers.sync import sync_account

CLIENT = "Jari Mäkinen <jari@rakennusmakinen.fi>"
AT = datetime(2026, 11, 21, tzinfo=UTC)


def test_one_message_in_two_mailboxes_is_one_entry(session, session_factory, mbox_account):
    mikko, liisa = f.user(session, name="Mikko"), f.user(session, name="Liisa")
    client = client_with_contact(session)
    first = mail("m1", CLIENT, [mikko.email], "Tiliotteet", "Liitteenä tiliotteet äöå €",
                 cc=[liisa.email])
    reply = mail("m2", liisa.email, [CLIENT], "Re: Tiliotteet", "Kiitos!", reply_to=["m1"])
    a = mbox_account(mikko, [first])
    b = mbox_account(liisa, [first, reply])
    for account in (a, b):
        fetch, filing = sync_account(session_factory, account.id)
        assert (fetch.status, filing.status) == ("ok", "ok"), (fetch.message, filing.message)
        assert (fetch.stream, filing.stream) == ("archive", "filing")
    assert count(session, MailMessage) == 2
    assert count(session, MailCopy) == 3
    assert count(session, MailThread) == 1
    entries = list(session.scalars(select(TimelineEntry).where(
        TimelineEntry.client_id == client.id).order_by(TimelineEntry.occurred_at)))
    assert [e.title for e in entries] == ["Tiliotteet", "Re: Tiliotteet"]
    assert sorted(entries[0].owner_ids) == sorted([mikko.id, liisa.id])
    assert entries[0].extra["participants"][0] == "jari@rakennusmakinen.fi"
    # Re-running both imports changes nothing.
    for account in (a, b):
        sync_account(session_factory, account.id)
    session.expire_all()
    assert (count(session, MailMessage), count(session, MailCopy),
            count(session, TimelineEntry)) == (2, 3, 2)


def test_matching_rules(session, session_factory, mbox_account, monkeypatch):
    from hub.settings import Settings

    monkeypatch.setattr("hub.mail.matching.get_settings",
                        lambda: Settings(_env_file=None, firm_domains=["tilitoimisto.fi"]))
    anna, mikko = f.user(session), f.user(session)
    by_domain = client_with_contact(session, email="someone@else.fi", domain="yritys.fi")
    messages = [
        mail("d1", "Pia <pia@yritys.fi>", [anna.email], "Domain", "x"),
        mail("g1", "Pekka <pekka.laine@gmail.com>", [anna.email], "Free mail", "x"),
        mail("i1", anna.email, [mikko.email], "Sisäinen", "x"),
        mail("i2", anna.email, ["someone@tilitoimisto.fi"], "Toimisto", "x"),
    ]
    sync_account(session_factory, mbox_account(anna, messages).id)
    links = {m.subject: [link.client_id for link in session.scalars(
        select(MessageClientLink).where(MessageClientLink.message_id == m.id))]
        for m in session.scalars(select(MailMessage))}
    assert links == {"Domain": [by_domain.id], "Free mail": [], "Sisäinen": [], "Toimisto": []}
    internal = {m.subject for m in session.scalars(
        select(MailMessage).where(MailMessage.internal_only.is_(True)))}
    assert internal == {"Sisäinen", "Toimisto"}
    queue = mail_service.review_queue(session, Principal(anna.id))
    assert [i.subject for i in queue.items] == ["Free mail"]


def test_manual_links_survive_rematching_and_new_contacts_rematch(
        session, session_factory, mbox_account):
    anna = f.user(session)
    client = f.client(session, name="Tmi Laine")
    other = client_with_contact(session, email="x@other.fi")
    session.commit()
    f.responsibility(session, anna, client)
    f.responsibility(session, anna, other)
    session.commit()
    sync_account(session_factory, mbox_account(anna, [
        mail("p1", "Pekka <pekka.laine@gmail.com>", [anna.email], "Kuitit", "x"),
        mail("p2", "Pekka <pekka.laine@gmail.com>", [anna.email], "Lisää kuitteja", "x"),
    ]).id)
    p1, p2 = session.scalars(select(MailMessage).order_by(MailMessage.id)).all()
    me = Principal(anna.id)
    mail_service.link(session, me, p1.id, other.id, AT)
    session.commit()
    # Adding the address as a contact re-matches past mail: both join the client.
    update_client(session, None, client, ClientPatch(contacts=[ContactIn(
        name="Pekka", emails=["pekka.laine@gmail.com"])]))
    session.commit()
    linked = lambda m: sorted(link.client_id for link in session.scalars(  # noqa: E731
        select(MessageClientLink).where(MessageClientLink.message_id == m.id,
                                        MessageClientLink.removed.is_(False))))
    assert linked(p1) == sorted([client.id, other.id]) and linked(p2) == [client.id]
    # A manual unlink is a tombstone: rematching does not bring the link back.
    mail_service.unlink(session, me, p2.id, client.id, AT)
    update_client(session, None, client, ClientPatch(contacts=[ContactIn(
        name="Pekka", emails=["pekka.laine@gmail.com"], phone="040")]))
    session.commit()
    assert linked(p2) == []
    assert linked(p1) == sorted([client.id, other.id])
    assert count(session, TimelineEntry, TimelineEntry.source_ref == f"mail:{p2.id}") == 0


def test_levels_owner_share_and_private_threads(session, session_factory, mbox_account, api):
    owner, reader, outsider = f.user(session), f.user(session), f.user(session)
    client = client_with_contact(session)
    f.responsibility(session, reader, client)
    session.commit()
    account = mbox_account(owner, [mail("s1", CLIENT, [owner.email], "Palkat", "salainen")],
                           share_level="subject")
    sync_account(session_factory, account.id)
    message = session.scalar(select(MailMessage))
    tokens = {u.id: f.token(session, u) for u in (owner, reader, outsider)}
    session.commit()
    get = lambda u, url: api.get(url, headers={  # noqa: E731
        "Authorization": f"Bearer {tokens[u.id]}"})
    as_reader = get(reader, f"/api/v1/messages/{message.id}").json()
    assert as_reader["level"] == "subject" and as_reader["subject"] == "Palkat"
    assert as_reader["text"] is None and as_reader["attachments"] is None
    assert get(owner, f"/api/v1/messages/{message.id}").json()["text"].startswith("salainen")
    assert get(outsider, f"/api/v1/messages/{message.id}").status_code == 404
    timeline = get(reader, f"/api/v1/clients/{client.id}/timeline").json()["items"]
    assert timeline[0]["title"] == "Palkat" and timeline[0]["summary"] is None
    # The owner makes the thread private: the reader no longer sees it anywhere.
    response = api.put(f"/api/v1/threads/{message.thread_id}/privacy",
                       headers={"Authorization": f"Bearer {tokens[owner.id]}"},
                       json={"private": True})
    assert response.status_code == 200, response.text
    assert get(reader, f"/api/v1/messages/{message.id}").status_code == 404
    assert get(reader, f"/api/v1/threads/{message.thread_id}").status_code == 404
    assert get(reader, f"/api/v1/clients/{client.id}/timeline").json()["items"] == []
    refused = api.put(f"/api/v1/threads/{message.thread_id}/privacy",
                      headers={"Authorization": f"Bearer {tokens[reader.id]}"},
                      json={"private": False})
    assert refused.status_code == 404  # the thread is hidden from the reader now


def test_body_reads_are_audited(session, session_factory, mbox_account, api):
    owner = f.user(session)
    client_with_contact(session)
    sync_account(session_factory, mbox_account(owner, [mail("a1", CLIENT, [owner.email],
                                                            "Hei", "body")]).id)
    token = f.token(session, owner)
    session.commit()
    message = session.scalar(select(MailMessage))
    api.get(f"/api/v1/messages/{message.id}", headers={"Authorization": f"Bearer {token}"})
    from hub.access.models import AuditEntry

    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "message.read"))
    assert row is not None and row.actor_user_id == owner.id and row.grant == "owner"


def test_sync_status_reports_runs(session, session_factory, mbox_account, api):
    owner = f.user(session)
    account = mbox_account(owner, [mail("x1", CLIENT, [owner.email], "Hei", "x")])
    sync_account(session_factory, account.id)
    token = f.token(session, owner)
    session.commit()
    status = api.get("/api/v1/sync/status",
                     headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert status[0]["account_id"] == account.id and status[0]["running"] is False
    assert status[0]["streams"][0]["status"] == "ok" and status[0]["streams"][0]["items"] == 1


def test_review_queue_link_adds_the_contact_through_the_api(session, session_factory,
                                                            mbox_account, api):
    owner, other = f.user(session), f.user(session)
    client = f.client(session, name="Uusi Oy")
    f.responsibility(session, owner, client)
    sync_account(session_factory, mbox_account(owner, [
        mail("q1", "Kalle <kalle@uusiyritys.fi>", [owner.email], "Tarjous", "x"),
        mail("q2", "Kalle <kalle@uusiyritys.fi>", [owner.email], "Tarjous 2", "y")]).id)
    tokens = {u.id: f.token(session, u) for u in (owner, other)}
    session.commit()
    auth = lambda u: {"Authorization": f"Bearer {tokens[u.id]}"}  # noqa: E731
    queue = api.get("/api/v1/review/messages", headers=auth(owner)).json()["items"]
    assert [i["subject"] for i in queue] == ["Tarjous 2", "Tarjous"]
    assert api.get("/api/v1/review/messages", headers=auth(other)).json()["items"] == []
    first = queue[1]["message_id"]
    refused = api.post(f"/api/v1/messages/{first}/links", headers=auth(other),
                       json={"client_id": client.id})
    assert refused.status_code == 404  # another's mailbox: as if the message did not exist
    linked = api.post(f"/api/v1/messages/{first}/links", headers=auth(owner),
                      json={"client_id": client.id, "add_contact": True})
    assert linked.status_code == 201 and linked.json()["client_ids"] == [client.id]
    # The new contact re-matched the other message too: the queue is empty.
    assert api.get("/api/v1/review/messages", headers=auth(owner)).json()["items"] == []
    session.expire_all()
    from hub.clients.models import ContactEmail

    assert list(session.scalars(select(ContactEmail.email))) == ["kalle@uusiyritys.fi"]


def test_lowering_a_mailbox_share_level_reaches_past_mail(session, session_factory,
                                                          mbox_account, api):
    """Colleagues see past mail at the level the owner shares now, not when it synced."""
    owner, reader = f.user(session), f.user(session)
    client = client_with_contact(session)
    f.responsibility(session, reader, client)
    account = mbox_account(owner, [mail("l1", CLIENT, [owner.email], "Palkat", "salainen")])
    sync_account(session_factory, account.id)
    tokens = {u.id: f.token(session, u) for u in (owner, reader)}
    session.commit()
    timeline = lambda u: api.get(  # noqa: E731
        f"/api/v1/clients/{client.id}/timeline",
        headers={"Authorization": f"Bearer {tokens[u.id]}"}).json()["items"]
    assert timeline(reader)[0]["title"] == "Palkat" and timeline(reader)[0]["summary"]
    response = api.patch(f"/api/v1/accounts/{account.id}",
                         headers={"Authorization": f"Bearer {tokens[owner.id]}"},
                         json={"share_level": "metadata"})
    assert response.status_code == 200, response.text
    [entry] = timeline(reader)
    assert entry["level"] == "metadata" and entry["title"] is None
    message = session.scalar(select(MailMessage))
    mine = api.get(f"/api/v1/messages/{message.id}",
                   headers={"Authorization": f"Bearer {tokens[owner.id]}"}).json()
    assert mine["level"] == "full" and mine["text"].startswith("salainen")  # still the owner's
