"""A forger with the database alone cannot rewrite the audit trail undetected.

Each forgery here is done the way someone with SQL rights would do it: drop the guards,
change rows, recompute every hash after them and the head, so that the chain itself
holds together. The keyed seals catch a rewrite, the anchor file (outside the database)
and the heads the admin kept catch rows removed from the end or a chain replaced whole.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from sqlalchemy import select, text

from hub.access import anchors, audit, verification
from hub.access.anchors import Anchor, parse_head
from hub.access.models import AuditEntry, AuditHead
from hub.crypto import generate_key
from hub.errors import InvalidInput
from hub.settings import Settings
from tests import factories as f

K1, K2 = generate_key(), generate_key()


@pytest.fixture
def configure(monkeypatch, tmp_path):
    """Sets the keys the audit trail uses (CLIENTHUB_ENCRYPTION_KEYS) with an anchor file
    of the test's own; starts with k1."""

    def use(spec: str) -> Settings:
        settings = Settings(_env_file=None, data_dir=tmp_path, encryption_keys=spec)
        monkeypatch.setattr(audit, "get_settings", lambda: settings)
        monkeypatch.setattr(verification, "get_settings", lambda: settings)
        return settings

    use(f"k1={K1}")
    return use


@pytest.fixture
def anchor_file(configure, tmp_path):
    return tmp_path / "audit-anchors.log"


def _fill(session, n=5, start=0):
    for i in range(start, start + n):
        audit.record(session, actor_user_id=1, action="timeline.read", client_id=i,
                     grant="own:kirjanpitaja", detail={"entries": [i], "note": "äö€"},
                     own_transaction=True)


def _drop_guards(session):
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        session.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
    session.commit()


def _content(row, prev):
    return {"id": row.id, "prev": prev, "at": row.at.isoformat(timespec="microseconds"),
            "actor": row.actor_user_id, "action": row.action, "client": row.client_id,
            "entry": row.entry_id, "grant": row.grant, "detail": row.detail}


def _canonical(content):
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def plain_sha256(row, prev):
    """The chain's algorithm before it was keyed: anyone can compute it."""
    return hashlib.sha256(_canonical(_content(row, prev))).hexdigest()


def hmac_under(key: bytes, trail: str):
    """A seal of the keyed shape under a key the forger chose."""
    def seal(row, prev):
        content = _content(row, prev) | {"key": row.key_id, "trail": trail}
        return hmac.new(key, _canonical(content), hashlib.sha256).hexdigest()
    return seal


def _rewrite(session, seal, *, edit=None, from_id=1, to_id=None, key_id="keep",
             trail="keep"):
    """Change row ``edit`` (if given) and recompute every hash from ``from_id`` (to
    ``to_id``; the next row is only re-linked), and the head, with ``seal``: as someone
    with the database and without the audit key."""
    _drop_guards(session)
    rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    prev = audit.GENESIS
    for row in rows:
        if to_id is not None and row.id > to_id:
            row.prev_hash = prev if row.id == to_id + 1 else row.prev_hash
            session.flush()
        elif row.id >= from_id:
            if row.id == edit:
                row.grant = "rule:99"
            if key_id != "keep":
                row.key_id = key_id
            row.prev_hash, row.hash = prev, seal(row, prev)
            session.flush()
        prev = row.hash
    head = session.get(AuditHead, 1)
    head.last_entry_id, head.last_hash = rows[-1].id, prev
    if trail != "keep":
        head.trail = trail
    session.commit()


def _roll_back_to(session, last_id):
    _drop_guards(session)
    kept = session.get(AuditEntry, last_id)
    session.execute(text("DELETE FROM audit_entries WHERE id > :i"), {"i": last_id})
    session.execute(text("UPDATE audit_head SET last_entry_id = :i, last_hash = :h"),
                    {"i": last_id, "h": kept.hash})
    session.commit()
    session.expire_all()


def _problems(verdict):
    return " | ".join(f"{b.entry_id}: {b.problem}" for b in verdict.breaks)


@pytest.mark.parametrize("key_ids", ["kept", "dropped"])
def test_an_edit_resealed_with_plain_sha256_is_caught(session, anchor_file, key_ids):
    """The old algorithm: with the key ids left, the seals fail; with them dropped, the
    chain looks unkeyed (as before the upgrade) and the anchors catch it."""
    _fill(session)
    assert verification.verify(session).intact
    _rewrite(session, plain_sha256, edit=3, key_id="keep" if key_ids == "kept" else None)
    verdict = verification.verify(session)
    assert not verdict.intact
    if key_ids == "kept":
        assert verdict.breaks[0] == verification.ChainBreak(1, "content was changed after it was "
                                                        "written")
    else:
        assert "differs from the anchor written" in _problems(verdict)
        assert "the trail was rewritten from here on; 4 later anchors differ too" in (
            _problems(verdict))


def test_an_edit_resealed_with_a_wrong_key_is_caught(session, anchor_file):
    _fill(session)
    trail = audit.head(session).trail
    _rewrite(session, hmac_under(bytes(32), trail), edit=3, from_id=3)
    verdict = verification.verify(session, anchor_path=anchor_file.with_name("none"))
    assert [(b.entry_id, b.problem) for b in verdict.breaks] == [
        (3, "content was changed after it was written"),
        (4, "content was changed after it was written"),
        (5, "content was changed after it was written")]


def test_unkeyed_rows_after_keyed_ones_are_caught_without_anchors(session, anchor_file):
    """Rewriting the newest rows the old way, as if written before the upgrade."""
    _fill(session)
    _rewrite(session, plain_sha256, edit=4, from_id=4, key_id=None)
    verdict = verification.verify(session, anchor_path=anchor_file.with_name("none"))
    assert (4, "has no seal although row 1 before it has: it was written or rewritten "
               "without the audit key") in [(b.entry_id, b.problem) for b in verdict.breaks]


def test_removing_the_newest_rows_and_the_head_is_caught_by_the_anchor(session, anchor_file):
    _fill(session)
    newest = audit.head(session)
    _roll_back_to(session, 3)
    verdict = verification.verify(session)
    assert [b.entry_id for b in verdict.breaks] == [5]
    assert "but the trail ends at 3: rows 4..5 were removed" in _problems(verdict)
    # Without the file, the head the admin kept catches it the same way.
    kept = verification.verify(session, anchor_path=anchor_file.with_name("none"),
                        heads=[parse_head(f"{newest.entry_id}:{newest.hash}")])
    assert "the head you kept names row 5, but the trail ends at 3" in _problems(kept)


def test_rows_appended_after_a_rollback_do_not_hide_it(session, anchor_file):
    """New rows sealed by the application after the forger's rollback reach past the
    removed ones: the anchor of the old row 5 still differs from the new row 5."""
    _fill(session)
    _roll_back_to(session, 3)
    _fill(session, 3, start=10)
    verdict = verification.verify(session)
    assert [b.entry_id for b in verdict.breaks] == [4]
    assert "differs from the anchor written" in verdict.breaks[0].problem


def test_a_replaced_trail_is_caught(session, anchor_file):
    """Renaming the trail (to dodge its anchors) breaks every keyed seal; replacing the
    whole chain with an unkeyed one leaves the anchor file naming only the old trail."""
    _fill(session)
    session.execute(text("UPDATE audit_head SET trail = 'f0f0f0f0f0f0f0f0'"))
    session.commit()
    renamed = verification.verify(session)
    assert {b.problem for b in renamed.breaks} >= {"content was changed after it was written"}
    _rewrite(session, plain_sha256, edit=3, key_id=None, trail=None)
    replaced = verification.verify(session)
    assert not replaced.intact
    assert "names rows of another audit trail and none of this one" in _problems(replaced)


def test_rows_sealed_with_an_older_key_verify_after_rotation(session, configure):
    _fill(session, 3)
    configure(f"k2={K2},k1={K1}")
    _fill(session, 2, start=3)
    keys = session.scalars(select(AuditEntry.key_id).order_by(AuditEntry.id)).all()
    assert keys == ["k1", "k1", "k1", "k2", "k2"]
    verdict = verification.verify(session)
    assert (verdict.intact, verdict.unchecked, verdict.warnings) == (True, {}, [])
    configure(f"k2={K2}")
    without_k1 = verification.verify(session)
    assert without_k1.intact and without_k1.unchecked == {"k1": 3}
    assert without_k1.warnings == [
        "cannot check the 3 rows sealed with key 'k1': it is not configured; add the key "
        "back to CLIENTHUB_ENCRYPTION_KEYS"]


def test_the_default_key_stays_readable_after_keys_are_listed(session, configure):
    """A firm starting without CLIENTHUB_ENCRYPTION_KEYS seals with k0 (derived from the
    secret key); listing keys later must not strand those rows."""
    configure("")
    _fill(session, 2)
    configure(f"k1={K1}")
    _fill(session, 1, start=2)
    verdict = verification.verify(session)
    assert (verdict.intact, verdict.unchecked) == (True, {})
    assert session.scalars(select(AuditEntry.key_id)).all() == ["k0", "k0", "k1"]


def _pre_upgrade_rows(session, n):
    """Rows as the code before the keyed chain wrote them: plain SHA-256, no key id."""
    _fill(session, n)
    _rewrite(session, plain_sha256, key_id=None, trail=None)


def test_rows_from_before_the_upgrade_verify_as_unkeyed(session, anchor_file):
    _pre_upgrade_rows(session, 3)
    anchor_file.unlink()  # the rows above were anchored as keyed ones; none were before
    alone = verification.verify(session)
    assert alone.intact and alone.unkeyed == 3
    assert any("rows 1..3 are unkeyed" in w and "could rewrite them undetected" in w
               for w in alone.warnings)
    _fill(session, 2, start=3)  # the upgraded code seals what follows
    sealed = verification.verify(session)
    assert sealed.intact and sealed.unkeyed == 3
    assert sealed.warnings == [
        "rows 1..3 are unkeyed (written before the chain was keyed): row 4's seal covers "
        "them from its time on, but a change made to them before then could not be "
        "detected"]
    # From now on an edit of an unkeyed row cannot be resealed past row 4.
    _rewrite(session, plain_sha256, edit=2, from_id=2, to_id=3)
    edited = verification.verify(session, anchor_path=anchor_file.with_name("none"))
    assert [(b.entry_id, b.problem) for b in edited.breaks] == [
        (4, "content was changed after it was written")]


def test_every_commit_anchors_its_head_and_a_rollback_nothing(session, anchor_file):
    audit.record(session, actor_user_id=1, action="client.update")
    session.rollback()
    assert not anchor_file.exists()
    audit.record(session, actor_user_id=1, action="client.update")
    audit.record(session, actor_user_id=1, action="client.update")
    session.commit()
    head = audit.head(session)
    assert list(anchors.read(anchor_file)) == [
        Anchor(head.trail, 2, head.hash, next(anchors.read(anchor_file)).written)]
    assert head.entry_id == 2 and len(head.trail) == 16


def test_concurrent_writers_append_whole_anchor_lines(session_factory, anchor_file):
    def work() -> None:
        with session_factory() as s:
            for _ in range(10):
                audit.record(s, actor_user_id=2, action="entry.read", own_transaction=True)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = list(anchors.read(anchor_file))
    assert sorted(a.entry_id for a in lines) == list(range(1, 41))
    with session_factory() as s:
        verdict = verification.verify(s)
        assert (verdict.rows, verdict.breaks, verdict.anchors) == (40, [], 40)


def test_verify_while_others_append_sees_no_false_alarm(session_factory, anchor_file):
    """Rows (and their anchors) that commit while verify walks the trail are not
    'removed rows'."""
    with session_factory() as s:
        _fill(s, 3)
    done = threading.Event()

    def work() -> None:
        with session_factory() as s:
            while not done.is_set():
                audit.record(s, actor_user_id=2, action="entry.read", own_transaction=True)

    writers = [threading.Thread(target=work) for _ in range(3)]
    for t in writers:
        t.start()
    try:
        verdicts = []
        for _ in range(15):
            with session_factory() as s:
                verdicts.append(verification.verify(s))
    finally:
        done.set()
        for t in writers:
            t.join()
    assert [v.breaks for v in verdicts] == [[]] * 15


def test_a_kept_head_must_be_id_colon_hash():
    with pytest.raises(InvalidInput, match="ID:HASH"):
        parse_head("12:not-a-hash")


def test_the_api_reports_anchors_kept_heads_and_bad_input(api, session, anchor_file):
    admin = f.user(session, admin=True)
    headers = {"Authorization": f"Bearer {f.token(session, admin)}"}
    session.commit()
    _fill(session)
    newest = audit.head(session)
    fine = api.get("/api/v1/audit/verify", headers=headers).json()
    assert (fine["intact"], fine["rows"], fine["anchors"], fine["unkeyed"]) == (
        True, 5, 5, 0)
    _roll_back_to(session, 3)
    caught = api.get("/api/v1/audit/verify", headers=headers,
                     params={"head": f"{newest.entry_id}:{newest.hash}"}).json()
    assert caught["intact"] is False
    assert any("the head you kept names row 5" in b["problem"] for b in caught["breaks"])
    assert any("rows 4..5 were removed" in b["problem"] for b in caught["breaks"])
    bad = api.get("/api/v1/audit/verify", headers=headers, params={"head": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "head"


def test_the_cli_prints_the_head_and_verify_checks_anchors_and_kept_heads(
        database_url, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hub.db import make_engine, make_session_factory

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(tmp_path), "CLIENTHUB_DATABASE_URL": database_url,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "300"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "api.cli", "audit", *args], env=env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert cli("seal").stdout.startswith("1:")
    sealed = cli("seal")
    kept = sealed.stdout.strip()
    assert sealed.returncode == 0 and kept.startswith("2:") and "trail" in sealed.stderr
    assert cli("head").stdout.strip() == kept
    assert "intact" in cli("verify").stdout
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        _roll_back_to(session, 1)
    engine.dispose()
    removed = cli("verify")
    assert removed.returncode == 1 and "row 2 was removed" in removed.stderr
    (tmp_path / "empty.log").write_text("")
    by_head = cli("verify", "--anchor", str(tmp_path / "empty.log"), "--head", kept)
    assert by_head.returncode == 1 and "the head you kept names row 2" in by_head.stderr
    bad = cli("verify", "--head", "2:xyz")
    assert bad.returncode == 1 and "ID:HASH" in bad.stderr and "Traceback" not in bad.stderr


def test_rows_written_before_the_upgrade_survive_it_and_stay_guarded(engine, anchor_file):
    """Down to 0008, rows written the old way, up again: they verify as unkeyed, the
    first keyed row seals them, and the append-only triggers survived both ways."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from sqlalchemy.exc import DatabaseError

    from hub import schema
    from hub.db import make_session_factory

    schema.downgrade(engine, "0008")
    prev = audit.GENESIS
    with engine.begin() as conn:
        for i in range(1, 4):
            row = SimpleNamespace(id=i, at=datetime(2026, 11, i, 9, 30, 0, 1234, tzinfo=UTC),
                                  actor_user_id=1, action="timeline.read", client_id=7,
                                  entry_id=None, grant="own:kirjanpitaja", detail={"n": i})
            digest = plain_sha256(row, prev)
            conn.execute(text(
                "INSERT INTO audit_entries (id, at, actor_user_id, action, client_id, "
                "entry_id, via, detail, prev_hash, hash) VALUES (:id, :at, 1, "
                "'timeline.read', 7, NULL, 'own:kirjanpitaja', :detail, :prev, :hash)"),
                {"id": i, "at": row.at.replace(tzinfo=None), "detail": json.dumps(row.detail),
                 "prev": prev, "hash": digest})
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_entry_id = 3, last_hash = :h"),
                     {"h": prev})
    schema.upgrade(engine)
    with make_session_factory(engine)() as session:
        before = verification.verify(session)
        assert (before.rows, before.breaks, before.unkeyed) == (3, [], 3)
        _fill(session, 1)
        after = verification.verify(session)
        assert (after.rows, after.breaks, after.unkeyed) == (4, [], 3)
        assert "row 4's seal covers them" in after.warnings[0]
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text("UPDATE audit_entries SET via = 'x' WHERE id = 1"))
        session.rollback()
    schema.downgrade(engine, "0008")
    with engine.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
        conn.execute(text("DELETE FROM audit_entries WHERE id = 1"))
