"""Mail links, unlinks and thread privacy: what a caller may not see answers exactly like
what does not exist, and no message or thread shows the id of a client the reader may not
see. Who may make a thread private: only someone whose own mailboxes hold every copy."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.clients.models import Client
from hub.mail.models import MailMessage, MailThread, MessageClientLink
from hub.staff.models import User
from tests import factories as f
from tests.api.conftest import Caller, ok
from tests.mail import conftest as mail_fixtures
from tests.mail.conftest import client_with_contact, count, mail
from workers.sync import sync_account

mbox_account = mail_fixtures.mbox_account

JARI = "Jari <jari@rakennusmakinen.fi>"
BEA = "Bea <bea@bcorp.fi>"
HIDDEN = "Hanna <hanna@piilo.fi>"


@dataclass
class World:
    owner: Caller  # holds m1 (clients a and b) and m2 (unmatched) in a mailbox
    reader: Caller  # responsible for b only; sees m1 through b
    colleague: Caller
    a: Client
    b: Client
    c: Client  # the owner's, without mail
    hidden: Client  # nobody here is responsible for it
    m1: MailMessage
    m2: MailMessage
    foreign: MailMessage  # in a stranger's mailbox, linked to the hidden client only


@pytest.fixture
def world(session, session_factory, make_caller, mbox_account) -> World:
    owner, reader, colleague = (make_caller(name=n) for n in ("Mikko", "Pia", "Liisa"))
    user = lambda c: session.get(User, c.id)  # noqa: E731
    a = client_with_contact(session)
    b = client_with_contact(session, email="bea@bcorp.fi")
    c = f.client(session, name="Tmi Laine")
    hidden = client_with_contact(session, email="hanna@piilo.fi")
    for who, of in ((owner, a), (owner, c), (reader, b)):
        f.responsibility(session, user(who), of)
    stranger = f.user(session)
    session.commit()
    sync_account(session_factory, mbox_account(user(owner), [
        mail("w1", JARI, [user(owner).email], "Tilinpäätös", "luvut", cc=[BEA]),
        mail("w2", "Kalle <kalle@tuntematon.fi>", [user(owner).email], "Tarjous", "x"),
    ]).id)
    sync_account(session_factory, mbox_account(stranger, [
        mail("w3", HIDDEN, [stranger.email], "Salainen", "y")]).id)
    by_subject = {m.subject: m for m in session.scalars(select(MailMessage))}
    return World(owner, reader, colleague, a, b, c, hidden, by_subject["Tilinpäätös"],
                 by_subject["Tarjous"], by_subject["Salainen"])


def _live(session, message_id: int) -> list[int]:
    session.expire_all()
    return sorted(session.scalars(select(MessageClientLink.client_id).where(
        MessageClientLink.message_id == message_id, MessageClientLink.removed.is_(False))))


def test_messages_and_threads_list_only_clients_the_reader_sees(api, session, world):
    assert _live(session, world.m1.id) == sorted([world.a.id, world.b.id])
    message, thread = f"/api/v1/messages/{world.m1.id}", f"/api/v1/threads/{world.m1.thread_id}"
    for who, seen in ((world.owner, [world.a.id]), (world.reader, [world.b.id])):
        assert ok(api.get(message, headers=who.headers))["client_ids"] == seen
        [shown] = ok(api.get(thread, headers=who.headers))["messages"]
        assert shown["client_ids"] == seen
    # The answers of the write endpoints are message and thread responses too.
    linked = ok(api.post(f"{message}/links", headers=world.owner.headers,
                         json={"client_id": world.c.id}), 201)
    assert linked["client_ids"] == sorted([world.a.id, world.c.id])
    private = ok(api.put(f"{thread}/privacy", headers=world.owner.headers,
                         json={"private": False}))
    assert [m["client_ids"] for m in private["messages"]] == [sorted([world.a.id, world.c.id])]


def _missing(session, model) -> int:
    return (session.scalar(select(model.id).order_by(model.id.desc())) or 0) + 1000


def _shape(response, *ids: int) -> tuple[int, dict]:
    body = response.json()
    error = dict(body["error"])
    error["message"] = re.sub(r"\b(" + "|".join(str(i) for i in ids) + r")\b", "N",
                              error["message"])
    error.pop("problems", None)
    return response.status_code, {"keys": sorted(body), **error}


def _writes(world: World, session):
    """(name, status, request for an id) per mail write endpoint and the id it names."""
    missing_message = _missing(session, MailMessage)
    missing_thread = _missing(session, MailThread)
    missing_client = _missing(session, Client)
    m1, m2 = world.m1.id, world.m2.id
    return [
        ("link: message", 404, (missing_message, world.foreign.id),
         lambda x: ("POST", f"/api/v1/messages/{x}/links", {"client_id": world.c.id})),
        ("link: client in the body", 422, (missing_client, world.hidden.id),
         lambda x: ("POST", f"/api/v1/messages/{m2}/links", {"client_id": x})),
        ("unlink: message", 404, (missing_message, world.foreign.id),
         lambda x: ("DELETE", f"/api/v1/messages/{x}/links/{world.a.id}", None)),
        ("unlink: client in the path", 404, (missing_client, world.hidden.id),
         lambda x: ("DELETE", f"/api/v1/messages/{m1}/links/{x}", None)),
        ("unlink: another client of the message", 404, (missing_client, world.b.id),
         lambda x: ("DELETE", f"/api/v1/messages/{m1}/links/{x}", None)),
        ("privacy: thread", 404, (missing_thread, world.foreign.thread_id),
         lambda x: ("PUT", f"/api/v1/threads/{x}/privacy", {"private": True})),
    ]


def test_mail_writes_answer_an_invisible_id_like_a_missing_one(api, session, world):
    links_before = sorted((row.message_id, row.client_id, row.removed, row.origin)
                          for row in session.scalars(select(MessageClientLink)))
    audits_before = count(session, AuditEntry)
    for name, status, (missing, invisible), build in _writes(world, session):
        answers = []
        for target in (missing, invisible):
            method, url, body = build(target)
            response = api.request(method, url, headers=world.owner.headers, json=body)
            answers.append(_shape(response, target))
        assert answers[0] == answers[1], name
        assert answers[0][0] == status, (name, answers[0])
        if status == 422:
            assert answers[0][1]["field"] == "client_id", name
    session.expire_all()
    assert sorted((row.message_id, row.client_id, row.removed, row.origin)
                  for row in session.scalars(select(MessageClientLink))) == links_before
    assert count(session, AuditEntry) == audits_before
    thread = session.get(MailThread, world.foreign.thread_id)
    assert thread is not None and thread.is_private is False


def test_unlink_needs_a_copy_and_a_client_the_caller_sees(api, session, world):
    m1 = world.m1.id
    # The reader sees the message through client b but holds no copy of it.
    refused = api.delete(f"/api/v1/messages/{m1}/links/{world.b.id}", headers=world.reader.headers)
    assert refused.status_code == 403, refused.text
    assert "owner" in refused.json()["error"]["message"]
    # The owner holds the copy but may not see client b: b's link is not theirs to remove.
    hidden = api.delete(f"/api/v1/messages/{m1}/links/{world.b.id}", headers=world.owner.headers)
    assert hidden.status_code == 404, hidden.text
    assert _live(session, m1) == sorted([world.a.id, world.b.id])
    assert session.scalar(select(MessageClientLink).where(
        MessageClientLink.message_id == m1, MessageClientLink.client_id == world.b.id)
    ).origin != "manual"
    ok(api.delete(f"/api/v1/messages/{m1}/links/{world.a.id}", headers=world.owner.headers), 204)
    assert _live(session, m1) == [world.b.id]
    # Someone who sees neither the message nor the client learns nothing either.
    outsider = api.delete(f"/api/v1/messages/{m1}/links/{world.b.id}",
                          headers=world.colleague.headers)
    assert outsider.status_code == 404


def test_link_refuses_a_client_the_caller_does_not_see_in_full(api, session, world):
    from sqlalchemy import update

    from hub.access.models import AccessRule

    session.execute(update(AccessRule).where(AccessRule.role == "asiakasvastaava")
                    .values(level="subject"))
    session.commit()
    refused = api.post(f"/api/v1/messages/{world.m2.id}/links", headers=world.owner.headers,
                       json={"client_id": world.c.id})
    assert refused.status_code == 403, refused.text
    assert "full" in refused.json()["error"]["message"]
    assert _live(session, world.m2.id) == []


def test_a_thread_is_made_private_only_by_whoever_holds_every_copy(
        api, session, session_factory, world, mbox_account):
    owner, colleague = (session.get(User, c.id) for c in (world.owner, world.colleague))
    first = mail("p1", JARI, [owner.email], "Palkat", "x", cc=[colleague.email])
    reply = mail("p2", colleague.email, [JARI], "Re: Palkat", "y", reply_to=["p1"])
    sync_account(session_factory, mbox_account(owner, [first], name="mikko").id)
    sync_account(session_factory, mbox_account(colleague, [first, reply], name="liisa").id)
    f.responsibility(session, session.get(User, world.reader.id), world.a)
    session.commit()
    thread_id = session.scalar(select(MailMessage.thread_id).where(
        MailMessage.subject == "Palkat"))
    url = f"/api/v1/threads/{thread_id}/privacy"
    # The owner holds a copy of one message, Liisa holds both: neither may hide the other's.
    for who, named in ((world.owner, colleague.email), (world.colleague, owner.email)):
        refused = api.put(url, headers=who.headers, json={"private": True})
        assert refused.status_code == 403, refused.text
        assert named in refused.json()["error"]["message"]
    # A reader who sees the thread through the client but holds no copy may not either.
    assert api.put(url, headers=world.reader.headers, json={"private": True}).status_code == 403
    session.expire_all()
    assert session.get(MailThread, thread_id).is_private is False
    shown = ok(api.get(f"/api/v1/threads/{thread_id}", headers=world.reader.headers))
    assert len(shown["messages"]) == 2
    # A thread wholly in the owner's mailboxes is theirs to make private, and public again.
    own = f"/api/v1/threads/{world.m1.thread_id}"
    assert ok(api.put(f"{own}/privacy", headers=world.owner.headers,
                      json={"private": True}))["is_private"] is True
    assert api.get(own, headers=world.reader.headers).status_code == 404
    assert ok(api.put(f"{own}/privacy", headers=world.owner.headers,
                      json={"private": False}))["is_private"] is False
    assert ok(api.get(own, headers=world.reader.headers))["messages"]


@pytest.mark.parametrize("visible_to, field", [
    ([True], "visible_to.0"),
    (["{reader}"], "visible_to.0"),
    ([1.0], "visible_to.0"),
    (["{reader_int}", 10**9], "visible_to.1"),
    (["{inactive}"], "visible_to.0"),
    (["{reader_int}", "{reader_int}"], "visible_to.1"),
    ([0], "visible_to.0"),
])
def test_visible_to_takes_distinct_ids_of_active_users(api, session, world, visible_to, field):
    inactive = f.user(session, active=False)
    session.commit()
    values = {"{reader}": str(world.reader.id), "{reader_int}": world.reader.id,
              "{inactive}": inactive.id}
    body = [values.get(v, v) if isinstance(v, str) else v for v in visible_to]
    response = api.put(f"/api/v1/threads/{world.m1.thread_id}/privacy",
                       headers=world.owner.headers, json={"private": True, "visible_to": body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field and error["message"]
    session.expire_all()
    assert session.get(MailThread, world.m1.thread_id).is_private is False
    fine = api.put(f"/api/v1/threads/{world.m1.thread_id}/privacy", headers=world.owner.headers,
                   json={"private": True, "visible_to": [world.reader.id]})
    assert fine.status_code == 200, fine.text
    assert ok(api.get(f"/api/v1/messages/{world.m1.id}", headers=world.reader.headers))
