"""Requests under concurrency, against a real server: a write is committed before it is
answered, a request holds one database connection, SQLite serves many clients without
lock errors, and a retried POST with an Idempotency-Key writes once.

A TestClient runs the whole request before it hands back the answer, which hides a
commit that comes after the answer; these tests run uvicorn on a free port instead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text

from api.app import create_app, web_engine
from hub.access.models import AuditEntry
from hub.clients.models import Client, Responsibility
from hub.db import make_engine
from hub.staff.models import User
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.peers.app_server import served_app

V1 = "/api/v1"


def served(engine: Engine, **options: Any) -> Any:
    """``clienthub serve``'s server and limits, in a thread, on a free port."""
    return served_app(engine, **options)


@pytest.fixture
def server_engine(database_url: str) -> Iterator[Engine]:
    engine = web_engine(database_url)
    yield engine
    engine.dispose()


def _staff(session, *, admin: bool = False) -> tuple[User, dict[str, str]]:
    user = f.user(session, admin=admin)
    token = f.token(session, user)
    return user, {"Authorization": f"Bearer {token}"}


def _until(deadline: Callable[[], float]) -> Iterator[int]:
    """Rounds until the deadline, at least one."""
    n = 0
    while n == 0 or time.monotonic() < deadline():
        yield n
        n += 1


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def test_a_created_client_can_be_used_at_once(server_engine, session):
    """200 pairs, 8 at a time: POST /clients, then at once POST /responsibilities naming
    the new id. An answer sent before its commit makes the second fail now and then."""
    _, admin = _staff(session, admin=True)
    worker, _ = _staff(session)
    session.commit()
    failures: list[str] = []

    def pair(n: int, http: httpx.Client) -> None:
        made = http.post(f"{V1}/clients", headers=admin, json={"name": f"Pari {n} Oy"})
        if made.status_code != 201:
            failures.append(f"client {n}: {made.status_code} {made.text}")
            return
        used = http.post(f"{V1}/responsibilities", headers=admin, json={
            "user_id": worker.id, "client_id": made.json()["id"], "role": "kirjanpitaja"})
        if used.status_code != 201:
            failures.append(f"responsibility {n}: {used.status_code} {used.text}")

    with (served(server_engine) as base, httpx.Client(base_url=base, timeout=30) as http,
          ThreadPoolExecutor(8) as pool):
        list(pool.map(lambda n: pair(n, http), range(200)))
    assert failures == []
    assert _count(server_engine, Responsibility, Responsibility.user_id == worker.id) == 200


@pytest.mark.parametrize("route", ["create client", "add note", "update client",
                                   "delete client"])
def test_every_write_is_committed_before_its_answer(server_engine, session, route):
    """Each commit is slowed down; the row must be in the database the moment the answer
    arrives, for creates, updates and deletes alike."""
    admin_user, admin = _staff(session, admin=True)
    client = f.client(session, name="Kahvila Aalto Oy")
    f.responsibility(session, admin_user, client)
    session.commit()
    requests = {
        "create client": ("POST", f"{V1}/clients", {"name": "Uusi Oy"}, 201,
                          lambda: _count(server_engine, Client, Client.name == "Uusi Oy") == 1),
        "add note": ("POST", f"{V1}/clients/{client.id}/notes", {"text": "Soitettu"}, 201,
                     lambda: _count(server_engine, TimelineEntry,
                                    TimelineEntry.title == "Soitettu") == 1),
        "update client": ("PATCH", f"{V1}/clients/{client.id}", {"name": "Kahvila Uusi Oy"},
                          200, lambda: _count(server_engine, Client,
                                              Client.name == "Kahvila Uusi Oy") == 1),
        "delete client": ("DELETE", f"{V1}/clients/{client.id}", None, 204,
                          lambda: _count(server_engine, Client, Client.id == client.id) == 0),
    }
    method, path, body, status, done = requests[route]

    def slow_commit(_conn: Any) -> None:
        time.sleep(0.3)

    with served(server_engine) as base, httpx.Client(base_url=base, timeout=30) as http:
        event.listen(server_engine, "commit", slow_commit)
        try:
            answer = http.request(method, path, headers=admin, json=body)
            assert answer.status_code == status, answer.text
            assert done(), f"{route} was answered {status} before it was committed"
        finally:
            event.remove(server_engine, "commit", slow_commit)


def test_a_failed_commit_is_never_answered_as_success(server_engine, session):
    """A commit that fails is a 5xx the client can act on, not a 201 for a row that does
    not exist."""
    _, admin = _staff(session, admin=True)
    session.commit()

    def failing_commit(conn: Any) -> None:
        # Only the request's own transaction fails (audit reads commit separately).
        if conn.info.pop("fail_next_commit", False):
            raise RuntimeError("disk full")

    def mark(conn: Any, clauseelement: Any, *_: Any) -> None:
        if "INSERT INTO clients" in str(clauseelement):
            conn.info["fail_next_commit"] = True

    with served(server_engine) as base, httpx.Client(base_url=base, timeout=30) as http:
        event.listen(server_engine, "commit", failing_commit)
        event.listen(server_engine, "before_execute", mark)
        try:
            answer = http.post(f"{V1}/clients", headers=admin, json={"name": "Ei Tallennu Oy"})
        finally:
            event.remove(server_engine, "commit", failing_commit)
            event.remove(server_engine, "before_execute", mark)
    assert answer.status_code >= 500, answer.text
    assert "try again" in answer.json()["error"]["message"]
    assert _count(server_engine, Client, Client.name == "Ei Tallennu Oy") == 0


def test_a_request_holds_one_connection(database_url, session):
    """A pool of one connection, with no overflow, serves an audited timeline read, an
    audited entry read and a note: none opens a second connection beside its own."""
    user, headers = _staff(session)
    client = f.client(session)
    f.responsibility(session, user, client)
    entry = f.entry(session, client)
    session.commit()
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        with TestClient(create_app(engine=engine)) as api:
            for _ in range(3):
                got = api.get(f"{V1}/clients/{client.id}/timeline", headers=headers)
                assert got.status_code == 200, got.text
            got = api.get(f"{V1}/clients/{client.id}/timeline/{entry.id}", headers=headers)
            assert got.status_code == 200, got.text
            made = api.post(f"{V1}/clients/{client.id}/notes", headers=headers,
                            json={"text": "yksi yhteys"})
            assert made.status_code == 201, made.text
        reads = _count(engine, AuditEntry, AuditEntry.action.in_(["timeline.read",
                                                                  "entry.read"]))
    finally:
        engine.dispose()
    assert reads == 4


def test_a_read_stays_on_record_when_the_answer_fails_afterwards(api, session, monkeypatch):
    """The read's audit row is committed when access is decided, before the answer is
    built: a failure while building it does not take the record with it."""
    from hub.timeline import service

    user, headers = _staff(session)
    client = f.client(session)
    f.responsibility(session, user, client)
    entry = f.entry(session, client)
    session.commit()

    def broken(*_: Any) -> Any:
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(service, "project", broken)
    api_no_raise = TestClient(api.app, raise_server_exceptions=False)
    got = api_no_raise.get(f"{V1}/clients/{client.id}/timeline/{entry.id}", headers=headers)
    assert got.status_code == 500
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "entry.read", AuditEntry.actor_user_id == user.id)) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])  # the embedded server's database
def test_fifty_clients_at_once_on_sqlite(server_engine, session, db_kind):
    """40 timeline readers and 10 note writers (with idempotency keys) for four seconds:
    no error, no lock error, and exactly the notes that were answered 201 are stored."""
    readers, clients = [], []
    for n in range(40):
        user, headers = _staff(session)
        client = f.client(session, name=f"Luku {n} Oy")
        f.responsibility(session, user, client)
        for _ in range(5):
            f.entry(session, client)
        readers.append((headers, client.id))
        clients.append(client)
    writers = []
    for n in range(10):
        user, headers = _staff(session)
        f.responsibility(session, user, clients[n])
        writers.append((headers, clients[n].id))
    session.commit()
    errors: list[str] = []
    written = [0] * len(writers)
    stop = float("inf")

    def read(headers: dict[str, str], client_id: int, http: httpx.Client) -> None:
        for _ in _until(lambda: stop):
            got = http.get(f"{V1}/clients/{client_id}/timeline", headers=headers)
            if got.status_code != 200:
                errors.append(f"read {got.status_code} {got.text[:200]}")

    def write(n: int, headers: dict[str, str], client_id: int, http: httpx.Client) -> None:
        for _ in _until(lambda: stop):
            key = str(uuid.uuid4())
            got = http.post(f"{V1}/clients/{client_id}/notes", json={"text": f"muistio {key}"},
                            headers={**headers, "Idempotency-Key": key})
            if got.status_code == 201:
                written[n] += 1
            else:
                errors.append(f"write {got.status_code} {got.text[:200]}")

    with served(server_engine) as base:
        # One connection per simulated client, as 50 browsers would have.
        https = [httpx.Client(base_url=base, timeout=20) for _ in range(50)]
        stop = time.monotonic() + 4
        try:
            with ThreadPoolExecutor(50) as pool:
                jobs = [pool.submit(read, h, c, https[i]) for i, (h, c) in enumerate(readers)]
                jobs += [pool.submit(write, n, h, c, https[40 + n])
                         for n, (h, c) in enumerate(writers)]
                for job in jobs:
                    job.result()
        except httpx.TimeoutException as exc:
            errors.append(f"timed out: {exc!r}")
        finally:
            for http in https:
                http.close()
    assert errors == []
    assert sum(written) > 0
    for n, (_, client_id) in enumerate(writers):
        stored = _count(server_engine, TimelineEntry, TimelineEntry.client_id == client_id,
                        TimelineEntry.title.like("muistio %"))
        assert stored == written[n]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_sqlite_is_set_up_for_a_web_server(server_engine, db_kind):
    with server_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    assert server_engine.pool.size() >= 32


def test_a_retried_note_is_written_once(server_engine, session):
    user, headers = _staff(session)
    other, other_headers = _staff(session)
    client = f.client(session)
    f.responsibility(session, user, client)
    f.responsibility(session, other, client)
    session.commit()
    path = f"{V1}/clients/{client.id}/notes"
    keyed = {**headers, "Idempotency-Key": "muistio-1"}
    with served(server_engine) as base, httpx.Client(base_url=base, timeout=30) as http:
        first = http.post(path, headers=keyed, json={"text": "Tiliotteet pyydetty"})
        again = http.post(path, headers=keyed, json={"text": "Tiliotteet pyydetty"})
        assert first.status_code == again.status_code == 201, (first.text, again.text)
        assert again.json() == first.json()
        changed = http.post(path, headers=keyed, json={"text": "Jotain muuta"})
        assert changed.status_code == 422
        assert changed.json()["error"]["field"] == "Idempotency-Key"
        # Keys are per user: a colleague's same key is a request of its own.
        theirs = http.post(path, headers={**other_headers, "Idempotency-Key": "muistio-1"},
                           json={"text": "Tiliotteet pyydetty"})
        assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
        # Retries racing each other still write once.
        raced = {**headers, "Idempotency-Key": "muistio-2"}
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: http.post(path, headers=raced,
                                                        json={"text": "Kilpa"}), range(6)))
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
    assert _count(server_engine, TimelineEntry, TimelineEntry.title == "Tiliotteet pyydetty") == 2
    assert _count(server_engine, TimelineEntry, TimelineEntry.title == "Kilpa") == 1
    assert _count(server_engine, TimelineEntry, TimelineEntry.title == "Jotain muuta") == 0


def test_every_create_takes_an_idempotency_key(server_engine, session):
    """The key is one mechanism for every POST: a retried client creation is one client."""
    _, admin = _staff(session, admin=True)
    session.commit()
    keyed = {**admin, "Idempotency-Key": "asiakas-1"}
    with served(server_engine) as base, httpx.Client(base_url=base, timeout=30) as http:
        first = http.post(f"{V1}/clients", headers=keyed, json={"name": "Kerran Oy"})
        again = http.post(f"{V1}/clients", headers=keyed, json={"name": "Kerran Oy"})
        elsewhere = http.post(f"{V1}/client-groups", headers=keyed, json={"name": "Ryhmä"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["field"] == "Idempotency-Key"
    assert _count(server_engine, Client, Client.name == "Kerran Oy") == 1
