"""What may identify a client, and ids and bodies that must be said to be wrong.

A mail domain or contact address identifies one client: the firm's own, a free-mail
domain, or one that already points to another client is refused, and that client's past
mail stays where it is. Lists of colleagues take distinct ids of active users, and a body
that is not JSON is said to be so, on the field ``body``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.clients.models import ContactEmail
from hub.mail.models import MailMessage, MessageClientLink
from hub.staff.models import User
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.api.conftest import ok
from tests.mail import conftest as mail_fixtures
from tests.mail.conftest import mail
from workers.sync import sync_account

mbox_account = mail_fixtures.mbox_account


@pytest.fixture
def firm_domains(monkeypatch):
    from hub.settings import Settings

    monkeypatch.setattr("hub.clients.addresses.get_settings",
                        lambda: Settings(_env_file=None, firm_domains=["tilitoimisto.fi"]))


def _client(api, admin, **fields):
    return ok(api.post("/api/v1/clients", headers=admin.headers,
                       json={"name": "Uusi Oy", **fields}), 201)


def _error(response, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.get("field") == field, error
    return error["message"]


@pytest.mark.parametrize("domains, field, says", [
    (["tilitoimisto.fi"], "domains.0", "firm's own"),
    (["uusi.fi", "posti.Tilitoimisto.fi"], "domains.1", "firm's own"),
    (["uusi.fi", "Gmail.com"], "domains.1", "free-mail"),
    (["not a domain"], "domains.0", "not a mail domain"),
])
def test_a_domain_that_cannot_identify_a_client_is_refused(api, admin, firm_domains, domains,
                                                           field, says):
    created = api.post("/api/v1/clients", headers=admin.headers,
                       json={"name": "Uusi Oy", "domains": domains})
    assert says in _error(created, 422, field)
    client = _client(api, admin)
    patched = api.patch(f"/api/v1/clients/{client['id']}", headers=admin.headers,
                        json={"domains": domains})
    assert says in _error(patched, 422, field)


@pytest.mark.parametrize("address", ["anna@tilitoimisto.fi", "Liisa@Toimisto.fi"])
def test_an_address_of_the_firm_is_not_a_contact(api, admin, session, firm_domains, address):
    f.user(session).email = "liisa@toimisto.fi"  # a colleague's address outside the domain
    session.commit()
    contacts = [{"name": "Anna", "emails": ["x@uusi.fi", address]}]
    created = api.post("/api/v1/clients", headers=admin.headers,
                       json={"name": "Uusi Oy", "contacts": contacts})
    assert "the firm itself" in _error(created, 422, "contacts.0.emails.1")
    client = _client(api, admin)
    patched = api.patch(f"/api/v1/clients/{client['id']}", headers=admin.headers,
                        json={"contacts": contacts})
    assert "the firm itself" in _error(patched, 422, "contacts.0.emails.1")


def _links(session) -> dict[str, list[int]]:
    session.expire_all()
    return {m.subject: sorted(session.scalars(select(MessageClientLink.client_id).where(
        MessageClientLink.message_id == m.id, MessageClientLink.removed.is_(False))))
        for m in session.scalars(select(MailMessage))}


@pytest.mark.parametrize("change, field, says", [
    ({"domains": ["yritys.fi"]}, "domains.0", "a mail domain of"),
    ({"domains": ["oma.fi", "YRITYS.fi"]}, "domains.1", "a mail domain of"),
    ({"domains": ["toinen.fi"]}, "domains.0", "the domain of a contact of"),
    ({"contacts": [{"name": "Pekka", "emails": ["Pekka.Laine@gmail.com"]}]},
     "contacts.0.emails.0", "a contact email of"),
    ({"contacts": [{"name": "Uusi", "emails": ["uusi@oma.fi"]},
                   {"name": "Pia", "emails": ["x@oma.fi", "pia@yritys.fi"]}]},
     "contacts.1.emails.1", "at the mail domain of"),
])
def test_another_clients_domain_or_contact_is_refused_and_its_mail_stays(
        api, admin, session, session_factory, mbox_account, change, field, says):
    owner = f.user(session)
    session.commit()
    first = _client(api, admin, name="Yritys Oy", domains=["yritys.fi"], contacts=[
        {"name": "Pekka", "emails": ["pekka.laine@gmail.com"]},
        {"name": "Matti", "emails": ["matti@toinen.fi"]}])
    sync_account(session_factory, mbox_account(owner, [
        mail("c1", "Pia <pia@yritys.fi>", [owner.email], "Domain", "x"),
        mail("c2", "Pekka <pekka.laine@gmail.com>", [owner.email], "Contact", "x"),
        mail("c3", "Matti <matti@toinen.fi>", [owner.email], "Toinen", "x")]).id)
    before = _links(session)
    assert before == {"Domain": [first["id"]], "Contact": [first["id"]],
                      "Toinen": [first["id"]]}
    named = f"Yritys Oy (id {first['id']})"
    created = api.post("/api/v1/clients", headers=admin.headers,
                       json={"name": "Toinen Oy", **change})
    assert named in _error(created, 409, field) and says in created.text
    second = _client(api, admin, name="Toinen Oy", domains=["oma.fi"])
    patched = api.patch(f"/api/v1/clients/{second['id']}", headers=admin.headers, json=change)
    assert named in _error(patched, 409, field) and says in patched.text
    assert _links(session) == before
    assert session.scalars(select(TimelineEntry).where(
        TimelineEntry.client_id == second["id"])).all() == []
    # The client that has them may list them again, in any case.
    again = api.patch(f"/api/v1/clients/{first['id']}", headers=admin.headers, json={
        "domains": ["Yritys.fi"], "contacts": [
            {"name": "Pekka", "emails": ["pekka.laine@gmail.com"], "phone": "040"},
            {"name": "Matti", "emails": ["matti@toinen.fi"]}]})
    assert ok(again)["domains"] == ["yritys.fi"]
    assert _links(session) == before


def test_linking_with_add_contact_takes_no_other_clients_address(
        api, admin, session, session_factory, mbox_account, make_caller):
    owner = make_caller(name="Mikko")
    first = _client(api, admin, name="Yritys Oy", contacts=[
        {"name": "Pekka", "emails": ["pekka.laine@gmail.com"]}])
    second = _client(api, admin, name="Toinen Oy")
    for client in (first, second):
        ok(api.post("/api/v1/responsibilities", headers=admin.headers, json={
            "user_id": owner.id, "client_id": client["id"], "role": "asiakasvastaava"}), 201)
    sync_account(session_factory, mbox_account(session.get(User, owner.id), [
        mail("a1", "Pekka <pekka.laine@gmail.com>", ["x@firm.test"], "Kuitit", "x"),
        mail("a2", "Pekka <pekka.laine@gmail.com>", ["x@firm.test"], "Lisää", "x")]).id)
    before = _links(session)
    message = session.scalar(select(MailMessage.id).where(MailMessage.subject == "Kuitit"))
    refused = api.post(f"/api/v1/messages/{message}/links", headers=owner.headers,
                       json={"client_id": second["id"], "add_contact": True})
    assert "Yritys Oy" in _error(refused, 409, "add_contact")
    assert _links(session) == before
    assert list(session.scalars(select(ContactEmail.email))) == ["pekka.laine@gmail.com"]
    # Sharing that one message deliberately is a link of its own, without the contact.
    linked = ok(api.post(f"/api/v1/messages/{message}/links", headers=owner.headers,
                         json={"client_id": second["id"]}), 201)
    assert linked["client_ids"] == sorted([first["id"], second["id"]])
    assert _links(session)["Lisää"] == [first["id"]]


@pytest.mark.parametrize("mentions, field", [
    ([True], "mentions.0"),
    (["{me}"], "mentions.0"),
    ([2.0], "mentions.0"),
    (["{me:int}", 10**9], "mentions.1"),
    (["{inactive}"], "mentions.0"),
    (["{me:int}", "{me:int}"], "mentions.1"),
])
def test_mentions_take_distinct_ids_of_active_users(api, session, make_caller, mentions, field):
    writer = make_caller(name="Liisa")
    client = f.client(session)
    f.responsibility(session, session.get(User, writer.id), client)
    inactive = f.user(session, active=False)
    session.commit()
    values = {"{me}": str(writer.id), "{me:int}": writer.id, "{inactive}": inactive.id}
    body = [values.get(v, v) if isinstance(v, str) else v for v in mentions]
    url = f"/api/v1/clients/{client.id}/notes"
    response = api.post(url, headers=writer.headers, json={"text": "hei", "mentions": body})
    assert _error(response, 422, field)
    assert session.scalars(select(TimelineEntry)).all() == []
    note = ok(api.post(url, headers=writer.headers,
                       json={"text": "hei", "mentions": [writer.id]}), 201)
    assert note["mentions"] == [writer.id]


BROKEN = '{\n  "name": "Uusi Oy",\n  oops\n}'


def test_a_body_that_is_not_json_is_said_so_on_every_endpoint(api, session, admin):
    client = f.client(session)
    session.commit()
    for method, url in [
        ("POST", "/api/v1/clients"),
        ("PATCH", f"/api/v1/clients/{client.id}"),
        ("POST", f"/api/v1/clients/{client.id}/notes"),
        ("POST", "/api/v1/responsibilities"),
        ("POST", "/api/v1/messages/1/links"),
        ("PUT", "/api/v1/threads/1/privacy"),
        ("POST", "/api/v1/covers"),
    ]:
        response = api.request(method, url, content=BROKEN.encode(), headers={
            **admin.headers, "Content-Type": "application/json"})
        message = _error(response, 422, "body")
        assert "the request body is not valid JSON (line 3 column 3)" in message, url
        assert [p["field"] for p in response.json()["error"]["problems"]] == ["body"], url
        # A body that is missing altogether is named the same way.
        empty = api.request(method, url, headers=admin.headers)
        assert _error(empty, 422, "body"), url


def test_a_body_that_cannot_be_decoded_is_422_on_body(api, session, admin):
    """Not UTF-8, or a form where JSON is expected: FastAPI's own 400 becomes bad input."""
    client = f.client(session)
    session.commit()
    for content, kind in [(b'{"name": "\xff\xfe Oy"}', "application/json"),
                          (b"name=Uusi+Oy", "application/x-www-form-urlencoded")]:
        for method, url in [("POST", "/api/v1/clients"),
                            ("PATCH", f"/api/v1/clients/{client.id}"),
                            ("POST", f"/api/v1/clients/{client.id}/notes")]:
            response = api.request(method, url, content=content,
                                   headers={**admin.headers, "Content-Type": kind})
            assert response.status_code == 422, (url, kind, response.text)
            assert response.json()["error"]["field"] == "body", (url, kind)


def test_an_unexpected_failure_is_a_json_500_with_a_reference(engine, caplog):
    """What slips through every check still answers in the error shape, says nothing was
    saved, and logs its trace under the reference the caller is given."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(engine=engine)

    @app.get("/api/v1/broken-on-purpose", include_in_schema=False)
    def broken() -> None:
        raise RuntimeError("a defect")

    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/api/v1/broken-on-purpose")
    assert response.status_code == 500
    message = response.json()["error"]["message"]
    assert "nothing was saved" in message
    reference = message.rsplit(" ", 1)[-1]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)
    assert "a defect" not in response.text
