"""The batch transaction helper: fast attempt, careful attempt after a failure, no retry
of a lost lease; and the runner hands its sinks what its caller's loader gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from hub.staff.models import User
from hub.sync.leases import LeaseLost
from hub.sync.protocol import Checkpoint, Item
from hub.sync.retry import fast_then_careful
from hub.sync.runner import Runner
from tests import factories as f


def _users(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_a_fast_attempt_that_works_is_the_only_one(session_factory):
    tries: list[bool] = []

    def attempt(session, careful):
        tries.append(careful)
        return f.user(session).id

    assert fast_then_careful(session_factory, attempt) > 0
    assert tries == [False] and _users(session_factory) == 1


def test_a_failed_fast_attempt_is_undone_and_done_again_carefully(session_factory):
    tries: list[bool] = []
    undone: list[bool] = []
    fell_back: list[str] = []

    def attempt(session, careful):
        tries.append(careful)
        f.user(session)
        if not careful:
            raise ValueError("one bad item")
        return "careful"

    result = fast_then_careful(session_factory, attempt,
                               undo=lambda session: undone.append(True),
                               falling_back=lambda exc: fell_back.append(str(exc)))
    assert result == "careful" and tries == [False, True]
    assert undone == [True] and fell_back == ["one bad item"]
    assert _users(session_factory) == 1  # the fast attempt's row went with its rollback


def test_a_failed_careful_attempt_is_the_callers(session_factory):
    undone: list[bool] = []

    def attempt(session, careful):
        f.user(session)
        raise ValueError("careful" if careful else "fast")

    with pytest.raises(ValueError, match="careful"):
        fast_then_careful(session_factory, attempt, undo=lambda session: undone.append(True))
    assert undone == [True, True] and _users(session_factory) == 0


def test_a_lost_lease_is_never_retried(session_factory):
    tries: list[bool] = []

    def attempt(session, careful):
        tries.append(careful)
        f.user(session)
        raise LeaseLost("taken over")

    with pytest.raises(LeaseLost):
        fast_then_careful(session_factory, attempt, falling_back=lambda exc: tries.append(True))
    assert tries == [False] and _users(session_factory) == 0


class _Seen:
    def __init__(self) -> None:
        self.accounts: list[object] = []

    def apply(self, session, account, record, item):
        self.accounts.append(account)
        return True

    def gone(self, session, account, record):
        self.accounts.append(account)


class _Two:
    def streams(self):
        return ["s"]

    def check(self):
        return None

    def read(self, stream, cursor):
        for i in range(2):
            yield Item(stream, f"id{i}", "thing", datetime(2026, 11, 1, tzinfo=UTC), {})
        yield Checkpoint(stream, {"pos": 2})


def test_the_runner_hands_sinks_what_its_callers_loader_gives(session_factory):
    from hub.accounts.models import Account

    with session_factory() as session:
        owner = f.user(session)
        row = Account(owner_user_id=owner.id, kind="mail_archive", name="a",
                      settings={"path": "x"})
        session.add(row)
        session.commit()
        account_id = row.id
    loaded: list[int] = []

    def load(session, given):
        loaded.append(given)
        return ("account", given)

    sink, bare = _Seen(), _Seen()
    [run] = Runner(session_factory, {"thing": sink}, account=load).run(account_id, _Two())
    assert run.status == "ok" and run.items == 2
    assert loaded == [account_id] and sink.accounts == [("account", account_id)] * 2
    Runner(session_factory, {"thing": bare}).run(account_id, _Two())
    assert bare.accounts == [None, None]  # without a loader, sinks get no account row
