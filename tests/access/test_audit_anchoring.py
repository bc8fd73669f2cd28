"""An audit row is anchored once it has committed, never before and never if it rolled back
- a savepoint's rollback and release included (no append happens inside the sync's
savepoints today; the guarantee holds for any that one day does)."""

from __future__ import annotations

import pytest

from hub.access import anchors, audit, verification
from hub.settings import Settings


@pytest.fixture
def anchor_file(monkeypatch, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.setattr(audit, "get_settings", lambda: settings)
    monkeypatch.setattr(verification, "get_settings", lambda: settings)
    return settings.resolved_audit_anchor_path


def _anchored(anchor_file) -> list[tuple[int, str]]:
    if not anchor_file.exists():
        return []
    return [(a.entry_id, a.hash) for a in anchors.read(anchor_file)
            if isinstance(a, anchors.Anchor)]


def _change(session) -> None:
    audit.record(session, actor_user_id=1, action="client.update")


def test_the_anchor_is_written_after_the_commit_and_not_after_a_rollback(session,
                                                                        anchor_file):
    _change(session)
    assert _anchored(anchor_file) == [], "not before the row has committed"
    session.rollback()
    assert _anchored(anchor_file) == []
    _change(session)
    session.commit()
    head = audit.head(session)
    assert _anchored(anchor_file) == [(1, head.hash)]


def test_a_released_savepoint_anchors_nothing_until_the_transaction_commits(session,
                                                                           anchor_file):
    _change(session)
    with session.begin_nested():
        _change(session)
    assert _anchored(anchor_file) == []
    session.rollback()
    assert _anchored(anchor_file) == [], "rows 1 and 2 never committed"

    _change(session)
    with session.begin_nested():
        _change(session)
    session.commit()
    head = audit.head(session)
    assert _anchored(anchor_file) == [(2, head.hash)]
    verdict = verification.verify(session)
    assert (verdict.rows, verdict.breaks, verdict.anchors) == (2, [], 1)


def test_an_append_in_a_rolled_back_savepoint_is_never_anchored(session, anchor_file):
    audit.record(session, actor_user_id=1, action="timeline.read", own_transaction=True)
    with pytest.raises(RuntimeError), session.begin_nested():
        _change(session)  # row 2, gone with the savepoint
        raise RuntimeError("the item failed")
    session.commit()
    _change(session)  # row 2 again, with another hash
    session.commit()
    head = audit.head(session)
    assert head.entry_id == 2
    assert [entry_id for entry_id, _ in _anchored(anchor_file)] == [1, 2]
    assert _anchored(anchor_file)[-1] == (2, head.hash)
    verdict = verification.verify(session)
    assert (verdict.rows, verdict.breaks, verdict.anchors) == (2, [], 2)
