"""Searching one client's timeline (``q``): any case, in what the reader's level shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from hub.access.models import AccessRule, AuditEntry
from hub.staff.models import User
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.api.conftest import ok

BASE = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _client_seen_at(session, make_caller, level):
    reader = make_caller(name=f"Lukija {level}")
    client = f.client(session, name="Kahvila Aalto Oy")
    session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
    f.rule(session, "role", level, role="myyja")
    f.responsibility(session, session.get(User, reader.id), client, role="myyja")
    entries = [("note", "Tilinpäätös 2025", "Pyydetty TILIOTTEET joulukuulta", "n1"),
               ("note", "Palkat marraskuu", "ÄLÄ unohda Ärrän kuitteja", "n2"),
               ("message", "Kysymys tiliotteista", "", "m1"),
               ("note", "Alennus 100%_off", "", "n3")]
    for n, (kind, title, body, ref) in enumerate(entries):
        session.add(TimelineEntry(client_id=client.id, kind=kind, title=title, body=body,
                                  summary=body[:40], source_ref=ref,
                                  occurred_at=BASE + timedelta(minutes=n)))
    session.commit()
    return reader, client


def _titles(api, reader, client, **params):
    page = ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                      params=params))
    return [e["title"] for e in page["items"]]


def test_a_full_reader_finds_text_in_titles_and_bodies_in_any_case(api, session, make_caller):
    reader, client = _client_seen_at(session, make_caller, "full")
    assert _titles(api, reader, client, q="tiliot") == ["Kysymys tiliotteista",
                                                          "Tilinpäätös 2025"]
    assert _titles(api, reader, client, q="TILIOTTEET") == ["Tilinpäätös 2025"]
    # Letters beyond ASCII fold too (SQLite's lower() alone would not).
    assert _titles(api, reader, client, q="ärrän") == ["Palkat marraskuu"]
    assert _titles(api, reader, client, q="TILINPÄÄTÖS") == ["Tilinpäätös 2025"]
    # % and _ are text, not wildcards.
    assert _titles(api, reader, client, q="100%_") == ["Alennus 100%_off"]
    assert _titles(api, reader, client, q="0%x") == []
    assert _titles(api, reader, client, q="tiliot", kind="message") == [
        "Kysymys tiliotteista"]
    assert _titles(api, reader, client, q="ei missään") == []
    # The search is on the audit trail with the page it answered.
    audited = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "timeline.read", AuditEntry.actor_user_id == reader.id)
        .order_by(AuditEntry.id)).all()
    assert audited[0].detail["text"] == "tiliot"
    assert len(audited[0].detail["entries"]) == 2


def test_a_subject_reader_matches_titles_only(api, session, make_caller):
    reader, client = _client_seen_at(session, make_caller, "subject")
    assert _titles(api, reader, client, q="tiliot") == ["Kysymys tiliotteista"]
    assert _titles(api, reader, client, q="tilinpäätös") == ["Tilinpäätös 2025"]
    assert _titles(api, reader, client, q="kuitteja") == []  # in a body they may not read


def test_a_metadata_reader_matches_nothing_textual(api, session, make_caller):
    reader, client = _client_seen_at(session, make_caller, "metadata")
    page = ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers))
    assert len(page["items"]) == 4
    for needle in ("tiliot", "kahvila", "palkat"):
        assert ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                          params={"q": needle}))["items"] == []


def test_search_pages_with_the_cursor(api, session, make_caller):
    reader, client = _client_seen_at(session, make_caller, "full")
    for n in range(7):
        session.add(TimelineEntry(client_id=client.id, kind="note", title=f"ALV {n}",
                                  body="", source_ref=f"alv{n}",
                                  occurred_at=BASE + timedelta(hours=1, minutes=n)))
    session.commit()
    seen, cursor = [], None
    while True:
        page = ok(api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                          params={"q": "alv", "limit": 3} | ({"before": cursor} if cursor
                                                            else {})))
        seen += [e["title"] for e in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"ALV {n}" for n in reversed(range(7))]


def test_a_search_too_long_is_refused_on_its_field(api, session, make_caller):
    reader, client = _client_seen_at(session, make_caller, "full")
    answer = api.get(f"/api/v1/clients/{client.id}/timeline", headers=reader.headers,
                     params={"q": "x" * 301})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "q"
