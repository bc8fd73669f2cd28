"""The per-client timeline: notes, mentions, levels, cursor paging, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from hub.access.models import AccessRule
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.api.conftest import ok


def _setup(session, make_caller, level="full"):
    reader = make_caller(name="Liisa Nieminen")
    client = f.client(session, name="Kahvila Aalto Oy")
    if level != "full":
        session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
        f.rule(session, "role", level, role="myyja")
    from hub.staff.models import User

    f.responsibility(session, session.get(User, reader.id), client,
                     role="asiakasvastaava" if level == "full" else "myyja")
    session.commit()
    return reader, client


def test_notes_page_newest_first_with_a_stable_cursor(api, session, make_caller):
    reader, client = _setup(session, make_caller)
    base = datetime(2026, 11, 1, 12, tzinfo=UTC)
    # 25 entries, several sharing one instant, to test the (time, id) tiebreak.
    for i in range(25):
        session.add(TimelineEntry(client_id=client.id, kind="note",
                                  occurred_at=base + timedelta(minutes=i // 3),
                                  title=f"n{i}", body=f"b{i}", source_ref=f"r{i}"))
    session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7} | ({"before": cursor} if cursor else {})
        page = ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                          params=params))
        seen += page["items"]
        pages += 1
        # A note added while paging appears at the top, not inside later pages.
        if pages == 1:
            ok(api.post(f"/api/v1/clients/{client.id}/notes", headers=reader.headers,
                        json={"text": "added meanwhile"}), 201)
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 4
    titles = [e["title"] for e in seen]
    assert len(titles) == 25 and len(set(titles)) == 25
    keys = [(e["occurred_at"], e["id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    bad = api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                  params={"before": "!!not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "before"


def test_note_with_mentions_and_kind_filter(api, session, make_caller):
    reader, client = _setup(session, make_caller)
    mikko = make_caller(name="Mikko Korhonen")
    from hub.staff.models import User

    mikko_email = session.get(User, mikko.id).email
    note = ok(api.post(f"/api/v1/clients/{client.id}/notes", headers=reader.headers, json={
        "text": f"Pyydetty tiliotteet.\n@{mikko_email} ja @mikko tarkistakaa ALV."}), 201)
    assert note["title"] == "Pyydetty tiliotteet." and note["mentions"] == [mikko.id]
    assert note["actor_user_id"] == reader.id and note["level"] == "full"
    assert ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                      params={"kind": "note"}))["items"][0]["id"] == note["id"]
    assert ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                      params={"kind": "message"}))["items"] == []
    wrong = api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                    params={"kind": "gossip"})
    assert wrong.status_code == 422
    empty = api.post(f"/api/v1/clients/{client.id}/notes", headers=reader.headers,
                     json={"text": ""})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"


def test_levels_hide_what_they_should(api, session, make_caller):
    for level, visible_fields in (("subject", {"title"}), ("metadata", set())):
        reader, client = _setup(session, make_caller, level=level)
        session.add(TimelineEntry(client_id=client.id, kind="note",
                                  occurred_at=datetime.now(UTC), title="Palkat",
                                  summary="yksityistä", body="salainen", source_ref=level))
        session.commit()
        item = ok(api.get(f"/api/v1/clients/{client.id}/timeline",
                          headers=reader.headers))["items"][0]
        assert item["level"] == level
        shown = {k for k in ("title", "summary", "body", "mentions") if item[k] is not None}
        assert shown == visible_fields
        assert "salainen" not in str(item)
        refused = api.post(f"/api/v1/clients/{client.id}/notes", headers=reader.headers,
                           json={"text": "x"})
        assert refused.status_code == 403 and "full access" in refused.json()["error"]["message"]


def test_private_entry_is_shown_only_to_owner_and_named(api, session, make_caller):
    reader, client = _setup(session, make_caller)
    owner = make_caller()
    session.add(TimelineEntry(client_id=client.id, kind="message", occurred_at=datetime.now(UTC),
                              title="HR", body="private", source_kind="mail", source_ref="m1",
                              owner_user_id=owner.id, is_private=True))
    session.commit()
    assert ok(api.get(f"/api/v1/clients/{client.id}/timeline",
                      headers=reader.headers))["items"] == []


def test_reads_are_audited_with_their_grant(api, session, make_caller, admin):
    reader, client = _setup(session, make_caller)
    note = ok(api.post(f"/api/v1/clients/{client.id}/notes", headers=reader.headers,
                       json={"text": "hei"}), 201)
    ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers))
    ok(api.get(f"/api/v1/clients/{client.id}/timeline/{note['id']}", headers=reader.headers))
    rows = ok(api.get("/api/v1/audit", headers=admin.headers,
                      params={"client_id": client.id}))["items"]
    reads = [(r["action"], r["grant"], r["actor_user_id"]) for r in rows]
    assert ("timeline.read", "own:asiakasvastaava", reader.id) in reads
    assert ("entry.read", "own:asiakasvastaava", reader.id) in reads
    timeline_row = next(r for r in rows if r["action"] == "timeline.read")
    assert timeline_row["detail"]["entries"] == [note["id"]]
    verdict = ok(api.get("/api/v1/audit/verify", headers=admin.headers))
    assert verdict["intact"] is True and verdict["rows"] >= 2


def test_client_list_filters_and_search(api, session, make_caller):
    reader, _ = _setup(session, make_caller)
    from hub.staff.models import User

    user = session.get(User, reader.id)
    group, special = f.group(session), f.special(session)
    other = f.client(session, name="Äänekosken Sähkö Oy", group=group, specials=[special])
    f.responsibility(session, user, other)
    session.commit()
    get = lambda **p: [c["name"] for c in ok(api.get(  # noqa: E731
        "/api/v1/clients", headers=reader.headers, params=p))["items"]]
    assert get(q="ÄÄNEKOSKEN") == ["Äänekosken Sähkö Oy"]
    assert get(q="kahvila") == ["Kahvila Aalto Oy"]
    assert get(group=group.id) == ["Äänekosken Sähkö Oy"]
    assert get(special_group=special.id) == ["Äänekosken Sähkö Oy"]
    assert get(mine="true") == ["Kahvila Aalto Oy", "Äänekosken Sähkö Oy"]
    assert get(status="archived") == []
    page = ok(api.get("/api/v1/clients", headers=reader.headers, params={"limit": 1}))
    rest = ok(api.get("/api/v1/clients", headers=reader.headers,
                      params={"limit": 1, "after": page["next"]}))
    assert page["items"][0]["id"] != rest["items"][0]["id"] and rest["next"] is None


@pytest.mark.parametrize("level", ["metadata", "subject", "full"])
def test_a_page_shows_each_entry_as_the_entry_model_does(api, session, make_caller, level):
    """The page is shaped straight from rows; every kind, owner, privacy and share level
    must come out exactly as the entry model (``project``, used for one entry) shows it."""
    from hub.access.policy import Level, Principal
    from hub.access.visibility import stored_entry_level
    from hub.staff.models import User
    from hub.timeline.models import Mention
    from hub.timeline.service import project

    reader, client = _setup(session, make_caller, level)
    other = f.user(session, name="Mikko Laine")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    shapes = [
        {"kind": "note", "title": "Muistio", "summary": "s", "body": "b",
         "actor_user_id": other.id},
        {"kind": "message", "source_kind": "mail", "title": "Tiliotteet", "summary": "s",
         "extra": {"participants": ["a@x.fi", "b@y.fi"], "thread": 7},
         "owner_user_id": other.id, "owner_ids": [other.id], "share_level": "subject"},
        {"kind": "message", "source_kind": "mail", "title": "Oma", "is_private": True,
         "owner_user_id": reader.id, "owner_ids": [reader.id], "extra": {"participants": []}},
        {"kind": "message", "source_kind": "mail", "title": "Salainen", "is_private": True,
         "owner_user_id": other.id, "owner_ids": [other.id]},
        {"kind": "message", "source_kind": "mail", "title": "Jaettu", "is_private": True,
         "owner_user_id": other.id, "private_to": [reader.id], "share_level": "metadata"},
        {"kind": "file_activity", "source_kind": "drive", "title": "40 files",
         "extra": {"action": "added", "count": 40, "folder": "Kirjanpito/2026/12",
                   "names": ["a.pdf", "b.pdf"]}, "share_level": "full"},
        {"kind": "file_activity", "source_kind": "drive", "title": "no action", "extra": {}},
        {"kind": "task", "title": "Tehtävä", "extra": None},
    ]
    entries = []
    for n, shape in enumerate(shapes):
        entry = TimelineEntry(client_id=client.id, occurred_at=at + timedelta(minutes=n),
                              source_ref=f"shape{n}", **shape)
        session.add(entry)
        session.flush()
        entries.append(entry)
    session.add_all([Mention(entry_id=entries[0].id, user_id=other.id),
                     Mention(entry_id=entries[0].id, user_id=reader.id)])
    session.commit()
    principal = Principal.of(session.get(User, reader.id))
    expected = []
    for entry in sorted(entries, key=lambda e: e.occurred_at, reverse=True):
        session.refresh(entry)
        shown = stored_entry_level(entry, Level.parse(level), principal.user_id)
        if shown > Level.NONE:
            expected.append(project(entry, shown).model_dump(mode="json"))
    page = ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers))
    assert page["items"] == expected
    assert len(expected) >= 6  # the hidden private entry is the one left out
    # One entry at a time says the same as the page.
    for item in expected:
        one = ok(api.get(f"/api/v1/clients/{client.id}/timeline/{item['id']}",
                         headers=reader.headers))
        assert one == item


def test_an_audited_read_is_one_commit_and_a_few_statements(api, session, engine, make_caller):
    """A timeline read commits its audit row before it answers - once: the token's
    last-used stamp (once a minute) aside, nothing else commits, and the page, the
    access decision and the audit row take a handful of statements, not one per entry."""
    from sqlalchemy import event

    reader, client = _setup(session, make_caller)
    for i in range(30):
        session.add(TimelineEntry(client_id=client.id, kind="note", title=f"n{i}",
                                  occurred_at=datetime(2026, 11, 1, tzinfo=UTC)
                                  + timedelta(hours=i), source_ref=f"c{i}"))
    session.commit()
    url = f"/api/v1/clients/{client.id}/timeline"
    ok(api.get(url, headers=reader.headers))  # stamps the token's last use
    seen = {"commit": 0, "statements": 0}

    def committed(_conn):
        seen["commit"] += 1

    def executed(*_args):
        seen["statements"] += 1

    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", executed)
    try:
        page = ok(api.get(url, headers=reader.headers, params={"limit": 20}))
    finally:
        event.remove(engine, "commit", committed)
        event.remove(engine, "before_cursor_execute", executed)
    assert len(page["items"]) == 20
    assert seen["commit"] == 1
    # token, grant, page, mentions; the audit append's three; PostgreSQL's write turn.
    assert seen["statements"] <= 8, seen
