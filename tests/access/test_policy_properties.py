"""Property: for any firm and instant, the SQL list is exactly {c : check(c)}, at the
same level, and grant_of() is check() to the reason - and the API shows nothing more
than check() allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.access.policy import (
    Level,
    Principal,
    check,
    client_levels,
    grant_of,
    scope_clients,
)
from hub.clients.models import Client
from hub.db import utcnow
from hub.staff.service import create_token
from hub.timeline.models import TimelineEntry
from tests.access.worlds import GRID, World, build, worlds

ORIGIN = datetime(2026, 12, 1, tzinfo=UTC)
STEP = timedelta(hours=1)
NO_FIXTURE_RESET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=120, deadline=None, suppress_health_check=NO_FIXTURE_RESET)
@given(world=worlds(), tick=st.integers(0, GRID), jitter=st.sampled_from([-1, 0, 1]))
def test_list_equals_check_for_every_user(session, world: World, tick: int, jitter: int):
    at = ORIGIN + tick * STEP + timedelta(microseconds=jitter)
    try:
        users, clients = build(session, world, ORIGIN, STEP)
        for user in users:
            principal = Principal.of(user)
            listed = set(session.scalars(scope_clients(select(Client.id), principal, at)))
            grants = {c.id: check(session, principal, c.id, at) for c in clients}
            checked = {cid: g.level for cid, g in grants.items() if g is not None}
            assert listed == set(checked)
            assert client_levels(session, principal, at) == checked
            assert all(level > Level.NONE for level in checked.values())
            # The request's one-statement answer: the same grant, reason included.
            assert {c.id: grant_of(session, principal, c.id, at) for c in clients} == grants
    finally:
        session.rollback()


@settings(max_examples=25, deadline=None, suppress_health_check=NO_FIXTURE_RESET)
@given(world=worlds())
def test_no_endpoint_shows_an_invisible_client(session, api, world: World):
    # The API decides at "now", so the world's grid is laid around the present.
    origin = utcnow() - 3 * STEP
    users, clients = build(session, world, origin, STEP)
    tokens = [create_token(session, None, u)[1] for u in users]
    notes = {}
    for c in clients:
        entry = TimelineEntry(client_id=c.id, kind="note", occurred_at=origin, title="t",
                              summary="s", body="secret body", source_ref=f"n{c.id}")
        session.add(entry)
        session.flush()
        notes[c.id] = entry.id
    session.commit()
    now = utcnow()
    for user, token in zip(users, tokens, strict=True):
        headers = {"Authorization": f"Bearer {token}"}
        if not user.is_active:
            assert api.get("/api/v1/clients", headers=headers).status_code == 401
            continue
        allowed = {c.id for c in clients if check(session, Principal.of(user), c.id, now)}
        listed = api.get("/api/v1/clients", headers=headers, params={"limit": 200}).json()
        assert {item["id"] for item in listed["items"]} == allowed
        for c in clients:
            urls = [f"/api/v1/clients/{c.id}", f"/api/v1/clients/{c.id}/timeline",
                    f"/api/v1/clients/{c.id}/timeline/{notes[c.id]}"]
            for url in urls:
                response = api.get(url, headers=headers)
                if c.id in allowed:
                    assert response.status_code == 200, url
                else:
                    assert response.status_code == 404, url
                    assert "secret" not in response.text and c.name not in response.text
            if c.id not in allowed:
                wrote = api.post(f"/api/v1/clients/{c.id}/notes", headers=headers,
                                 json={"text": "hello"})
                assert wrote.status_code == 404
