"""The audit trail is append-only and its hash chain catches edits and deletions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from hub.access import audit, verification
from hub.settings import Settings


@pytest.fixture(autouse=True)
def _own_anchor_file(monkeypatch, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.setattr(audit, "get_settings", lambda: settings)
    monkeypatch.setattr(verification, "get_settings", lambda: settings)


def _fill(session, n=5):
    for i in range(n):
        audit.record(session, actor_user_id=1, action="timeline.read", client_id=i,
                     grant="own:kirjanpitaja", detail={"entries": [i], "note": "äö€"},
                     own_transaction=True)


def _drop_guards(session):
    """What someone with DDL rights on the database could do."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_entries_append_only ON audit_entries"))
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
        session.execute(text("DROP TRIGGER audit_entries_no_delete"))
    session.commit()


def test_intact_chain_verifies(session):
    _fill(session)
    verdict = verification.verify(session)
    assert (verdict.rows, verdict.breaks, verdict.anchors, verdict.warnings) == (5, [], 5, [])


def test_the_database_refuses_update_and_delete(session):
    _fill(session, 2)
    for statement in ("UPDATE audit_entries SET action = 'x' WHERE id = 1",
                      "DELETE FROM audit_entries WHERE id = 1"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


def test_an_edited_middle_row_is_found(session):
    _fill(session)
    _drop_guards(session)
    session.execute(text("UPDATE audit_entries SET via = 'rule:99' WHERE id = 3"))
    session.commit()
    breaks = verification.verify(session).breaks
    assert [(b.entry_id, b.problem) for b in breaks] == [
        (3, "content was changed after it was written")]


def test_a_deleted_middle_row_is_found(session):
    _fill(session)
    _drop_guards(session)
    session.execute(text("DELETE FROM audit_entries WHERE id = 3"))
    session.commit()
    breaks = verification.verify(session).breaks
    assert {b.entry_id for b in breaks} == {4}
    assert any("missing" in b.problem for b in breaks)


def test_deleting_the_newest_rows_is_found_through_the_head(session):
    _fill(session)
    _drop_guards(session)
    session.execute(text("DELETE FROM audit_entries WHERE id >= 4"))
    session.commit()
    breaks = verification.verify(session).breaks
    assert "newest rows after 3" in breaks[0].problem


def test_concurrent_appends_keep_one_chain(session_factory):
    import threading

    errors: list[BaseException] = []

    def work() -> None:
        try:
            with session_factory() as s:
                for _ in range(10):
                    audit.record(s, actor_user_id=2, action="entry.read", own_transaction=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        verdict = verification.verify(s)
        assert (verdict.rows, verdict.breaks) == (40, [])
