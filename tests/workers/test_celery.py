"""The Celery tasks through a real worker process and a real Redis broker, on SQLite and
PostgreSQL; the beat schedule; and the embedded default, which runs tasks in-process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from celery._state import get_current_app
from celery.schedules import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.models import Account
from hub.db import make_session_factory
from hub.drive import index
from hub.settings import Settings
from hub.sync.models import SyncRun
from tests import factories as f
from tests.drive.conftest import add_account, write
from tests.workers.conftest import Worker
from workers import tasks
from workers.celery_app import EMBEDDED_BROKER, make_celery
from workers.tasks import sync_account_task, sync_all

TIMEOUT = 60


def _drive(session: Session, root: Path, files: int, *, enabled: bool = True) -> int:
    for n in range(files):
        write(root, f"Client {n} Oy/Kirjanpito/file{n}.txt", b"x" * (n + 1))
    owner = f.user(session)
    account = add_account(session, owner, "local", {"path": str(root)})
    account.enabled = enabled
    session.commit()
    return account.id


def _runs(session: Session, account_id: int) -> list[SyncRun]:
    session.expire_all()
    return list(session.scalars(select(SyncRun).where(SyncRun.account_id == account_id)))


def _files(session: Session, account_id: int) -> set[str]:
    session.expire_all()
    return {e.path for e in index.entries(session, account_id) if not e.is_folder}


def test_a_worker_syncs_an_account(celery_worker: Worker, session: Session, tmp_path: Path):
    account_id = _drive(session, tmp_path / "drive", 3)

    result = sync_account_task.delay(account_id)
    summary = result.get(timeout=TIMEOUT)

    assert summary["account_id"] == account_id
    assert [r["status"] for r in summary["runs"]] == ["ok"] * len(summary["runs"])
    assert sum(r["items"] for r in summary["runs"]) > 0
    runs = _runs(session, account_id)
    assert runs and all(r.status == "ok" and r.errors == 0 for r in runs)
    assert sum(r.items for r in runs) == sum(r["items"] for r in summary["runs"])
    assert len(_files(session, account_id)) == 3


def test_sync_all_enqueues_one_task_per_enabled_account(celery_worker: Worker,
                                                        session: Session, tmp_path: Path):
    enabled = [_drive(session, tmp_path / f"drive{n}", n + 1) for n in range(3)]
    disabled = _drive(session, tmp_path / "off", 2, enabled=False)

    queued = sync_all.delay().get(timeout=TIMEOUT)

    assert sorted(q["account_id"] for q in queued) == enabled
    assert len({q["task_id"] for q in queued}) == len(enabled)
    for q in queued:
        summary = celery_worker.app.AsyncResult(q["task_id"]).get(timeout=TIMEOUT)
        assert summary["account_id"] == q["account_id"]
        assert all(r["status"] == "ok" for r in summary["runs"])
    for n, account_id in enumerate(enabled):
        assert all(r.status == "ok" for r in _runs(session, account_id))
        assert len(_files(session, account_id)) == n + 1
    assert _runs(session, disabled) == []


def test_a_second_sync_of_a_held_account_is_skipped(celery_worker: Worker, session: Session,
                                                    tmp_path: Path):
    from hub.sync.runner import acquire_lease, release_lease

    account_id = _drive(session, tmp_path / "drive", 1)
    factory = make_session_factory(session.get_bind())
    acquire_lease(factory, account_id, "elsewhere:1")
    try:
        summary = sync_account_task.delay(account_id).get(timeout=TIMEOUT)
    finally:
        release_lease(factory, account_id, "elsewhere:1")
    assert "already being synced" in summary["skipped"]
    assert _runs(session, account_id) == []


def test_beat_schedule_follows_the_settings():
    app = make_celery(Settings(_env_file=None, sync_interval_minutes=7,  # type: ignore[call-arg]
                               folders_enforce_hour=4, time_zone="Europe/Stockholm"))
    schedule = app.conf.beat_schedule
    assert schedule["sync-all"]["task"] == "workers.tasks.sync_all"
    assert schedule["sync-all"]["schedule"] == timedelta(minutes=7)
    assert schedule["enforce-folders"]["task"] == "workers.tasks.enforce_folders_task"
    daily = schedule["enforce-folders"]["schedule"]
    assert isinstance(daily, crontab)
    assert daily.hour == {4} and daily.minute == {0}
    assert str(app.conf.timezone) == "Europe/Stockholm"
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1
    app.close()


def test_defaults_of_the_schedule():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.broker_url is None
    assert settings.sync_interval_minutes == 15 and settings.folders_enforce_hour == 2


def test_embedded_default_runs_tasks_in_process(session_factory: sessionmaker[Session],
                                                session: Session, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    app = make_celery(Settings(_env_file=None))  # type: ignore[call-arg]
    assert app.conf.broker_url == EMBEDDED_BROKER and app.conf.task_always_eager is True
    monkeypatch.setattr(tasks, "_factory", session_factory)
    first = _drive(session, tmp_path / "a", 2)
    second = _drive(session, tmp_path / "b", 1)
    previous = get_current_app()
    app.set_current()
    try:
        summary = sync_account_task.delay(first).get()
        assert [r["status"] for r in summary["runs"]] == ["ok"] * len(summary["runs"])
        queued = sync_all.delay().get()
    finally:
        previous.set_current()
        app.close()
    assert sorted(q["account_id"] for q in queued) == [first, second]
    assert len(_files(session, first)) == 2 and len(_files(session, second)) == 1
    assert len(_runs(session, first)) == 2 * len(summary["runs"])  # once alone, once in all
    with session_factory() as s:
        assert s.get(Account, second) is not None


def test_a_retryable_source_error_is_retried_with_backoff(monkeypatch: pytest.MonkeyPatch):
    from celery.exceptions import Retry

    from hub.sync.protocol import SourceError

    def busy(factory: object, account_id: int) -> list[SyncRun]:
        raise SourceError("the server is busy; try again", retryable=True)

    def refused(factory: object, account_id: int) -> list[SyncRun]:
        raise SourceError("wrong password")

    monkeypatch.setattr(tasks, "_factory", object())
    # A queued (not eager) app on the in-memory transport: the retry is sent, not run.
    app = make_celery(Settings(_env_file=None, broker_url="memory://"))  # type: ignore[call-arg]
    app.conf.result_backend = None
    previous = get_current_app()
    app.set_current()
    try:
        monkeypatch.setattr(tasks, "sync_account", busy)
        for retries, countdown in ((0, 60), (2, 240)):
            sync_account_task.push_request(retries=retries, is_eager=False,
                                           called_directly=False, id="t1", args=[5],
                                           kwargs={})
            try:
                with pytest.raises(Retry) as retry:
                    sync_account_task.run(5)
                assert retry.value.when == countdown
            finally:
                sync_account_task.pop_request()
        monkeypatch.setattr(tasks, "sync_account", refused)
        sync_account_task.push_request(retries=0, is_eager=False, id="t2", args=[5], kwargs={})
        try:
            with pytest.raises(SourceError, match="wrong password"):
                sync_account_task.run(5)
        finally:
            sync_account_task.pop_request()
        # In-process (embedded) there is no retry: the caller sees the error at once.
        monkeypatch.setattr(tasks, "sync_account", busy)
        eager = make_celery(Settings(_env_file=None))  # type: ignore[call-arg]
        eager.set_current()
        with pytest.raises(SourceError, match="busy"):
            sync_account_task.delay(5).get()
        eager.close()
    finally:
        previous.set_current()
        app.close()
    assert [tasks.backoff(n) for n in (0, 1, 2, 10)] == [60, 120, 240, 3600]
