"""The session every factory makes (:class:`hub.db.HubSession`): what its open transaction
has written, the write turn, and what it does once a transaction has committed - on SQLite
and on PostgreSQL."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.access import audit
from hub.access.models import AuditEntry
from hub.db import HubSession, hub_session
from hub.staff.models import User
from tests import factories as f


def test_the_factory_makes_hub_sessions(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert isinstance(session, HubSession)


def test_has_written_follows_the_open_transaction(session: HubSession) -> None:
    assert not session.has_written()
    user_id = f.user(session).id  # added and flushed
    assert session.has_written()
    session.commit()
    assert not session.has_written()

    session.scalars(select(User.id))
    assert not session.has_written(), "a read is not a write"
    session.add(User(email="pending@firm.test", name="Pending"))
    assert session.has_written(), "a change not yet flushed is one about to be written"
    session.rollback()
    assert not session.has_written()

    session.execute(update(User).where(User.id == user_id).values(name="Renamed"))
    assert session.has_written()
    with session.begin_nested():
        pass
    assert session.has_written(), "a released savepoint leaves the transaction's writes"
    session.close()
    assert not session.has_written()

    assert session.scalars(update(User).where(User.id == user_id).values(name="Again")
                           .returning(User.id)).all() == [user_id]
    assert session.has_written()
    session.commit()
    assert session.scalar(select(User.name).where(User.id == user_id)) == "Again"
    assert not session.has_written()


def _another_can_take_the_turn(engine: Engine) -> bool:
    """Can a connection of its own, outside this process's writer lock, start writing now?"""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return bool(conn.exec_driver_sql(
                "SELECT pg_try_advisory_xact_lock(x'43487562'::int)").scalar())
    raw = sqlite3.connect(engine.url.database or "", timeout=0)
    try:
        raw.execute("BEGIN IMMEDIATE")
        raw.rollback()
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        raw.close()


def test_write_turns_are_taken_by_each_transaction_before_it_reads(
        session_factory: sessionmaker[Session], engine: Engine) -> None:
    with session_factory() as reader, session_factory() as writer:
        reader.scalars(select(User.id)).all()
        assert _another_can_take_the_turn(engine), "a plain read takes no turn"
        reader.rollback()

        hub_session(writer).take_write_turns()
        hub_session(writer).take_write_turns()  # asking twice listens once
        assert _another_can_take_the_turn(engine), "taken by a transaction, not before"
        writer.scalars(select(User.id)).all()
        assert not _another_can_take_the_turn(engine)
        writer.commit()
        assert _another_can_take_the_turn(engine), "released by the commit"
        writer.scalars(select(User.id)).all()
        assert not _another_can_take_the_turn(engine), "and taken again by the next one"
        writer.rollback()
        assert _another_can_take_the_turn(engine)


def test_an_action_runs_once_its_transaction_has_committed(session: HubSession) -> None:
    done: list[str] = []
    f.user(session)
    session.after_commit("note", lambda: done.append("first"))
    session.after_commit("note", lambda: done.append("newest"))  # replaces the first
    session.after_commit("other", lambda: done.append("other"))
    assert done == []
    session.commit()
    assert done == ["newest", "other"]
    session.commit()
    assert done == ["newest", "other"], "an action runs once"


def test_a_rollback_drops_the_actions_waiting(session: HubSession) -> None:
    done: list[str] = []
    f.user(session)
    session.after_commit("note", lambda: done.append("rolled back"))
    session.rollback()
    f.user(session)
    session.commit()
    assert done == []


def test_a_savepoint_commits_nothing_and_its_rollback_drops_actions(
        session: HubSession) -> None:
    done: list[str] = []
    f.user(session)
    with session.begin_nested():
        session.after_commit("note", lambda: done.append("released"))
    assert done == [], "a released savepoint has not committed"
    session.rollback()
    assert done == []

    f.user(session)
    with pytest.raises(RuntimeError, match="inside"), session.begin_nested():
        session.after_commit("note", lambda: done.append("inside"))
        raise RuntimeError("inside")
    session.commit()
    assert done == [], "what was asked inside a savepoint rolled back went with it"

    f.user(session)
    with session.begin_nested():
        session.after_commit("note", lambda: done.append("committed"))
    session.commit()
    assert done == ["committed"]


def test_an_action_follows_every_way_of_ending_a_transaction(
        session_factory: sessionmaker[Session]) -> None:
    done: list[str] = []
    with session_factory.begin() as session:  # committed by the context manager
        hub_session(session).after_commit("note", lambda: done.append("begin()"))
    assert done == ["begin()"]

    with session_factory() as session:
        hub = hub_session(session)
        f.user(hub)
        hub.after_commit("note", lambda: done.append("closed"))
        hub.close()  # ends the transaction without a rollback event
        f.user(hub)
        hub.commit()
    assert done == ["begin()"], "an action of a closed transaction is not the next one's"


def test_an_action_needs_an_open_transaction(session: HubSession) -> None:
    with pytest.raises(RuntimeError, match="no transaction is open"):
        session.after_commit("note", lambda: None)


def test_a_plain_session_is_refused_with_what_to_do(engine: Engine) -> None:
    with Session(bind=engine) as plain:
        with pytest.raises(TypeError, match="make_session_factory"):
            hub_session(plain)
        with pytest.raises(TypeError, match="make_session_factory"):
            audit.record(plain, actor_user_id=None, action="client.update")
        with pytest.raises(TypeError, match="make_session_factory"):
            audit.record(plain, actor_user_id=None, action="timeline.read",
                         own_transaction=True)
        plain.rollback()
        assert plain.scalars(select(AuditEntry.id)).all() == []
