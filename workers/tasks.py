"""Thin Celery tasks: account ids in, the hub's plain functions do the work.

Tasks take ids only, never secrets: a worker reads what it needs from the database. The
engine and session factory are made once per worker process from the settings.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_process_init
from sqlalchemy.orm import Session, sessionmaker

from hub.db import make_engine, make_session_factory
from hub.errors import NotFound, SourceFailed
from hub.flows.sync import accounts_to_sync
from hub.process import settle
from hub.settings import get_settings
from hub.sync.protocol import SourceError
from hub.sync.runner import SyncInProgress
from workers.folders import enforce_folders
from workers.sync import sync_account

log = logging.getLogger(__name__)

#: Retries of a source that said "try again later": 1, 2, 4 ... minutes, at most an hour.
MAX_RETRIES = 6
_factory: sessionmaker[Session] | None = None


def session_factory() -> sessionmaker[Session]:
    """This process's session factory, made on first use from the settings."""
    global _factory
    if _factory is None:
        _factory = make_session_factory(make_engine(get_settings().resolved_database_url))
    return _factory


@worker_process_init.connect
def _forget_parent_engine(**_: Any) -> None:
    # A forked pool process must not share the parent's database connections.
    global _factory
    if _factory is not None:
        _factory.kw["bind"].dispose(close=False)
    _factory = None
    settle()  # its code is loaded: see hub.process


def backoff(retries: int) -> int:
    return int(min(60 * 2**retries, 3600))


@shared_task(bind=True, name="workers.tasks.sync_account_task", max_retries=MAX_RETRIES)
def sync_account_task(self: Task[[int], dict[str, Any]], account_id: int) -> dict[str, Any]:
    try:
        runs = sync_account(session_factory(), account_id)
    except (SyncInProgress, NotFound) as exc:
        # Another worker (or the CLI) holds the lease, or the account is gone meanwhile:
        # this run is simply not needed.
        log.info("sync of account %s skipped: %s", account_id, exc)
        return {"account_id": account_id, "skipped": str(exc)}
    except (SourceError, SourceFailed) as exc:
        if not exc.retryable or self.request.is_eager:
            raise  # in-process (embedded) the caller sees it; the next run tries again
        countdown = backoff(self.request.retries)
        log.warning("sync of account %s will be retried in %s s: %s", account_id,
                    countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {
        "account_id": account_id,
        "runs": [{"stream": r.stream, "status": r.status, "items": r.items,
                  "errors": r.errors} for r in runs],
    }


@shared_task(name="workers.tasks.sync_all")
def sync_all() -> list[dict[str, Any]]:
    """Enqueues one sync per account a sync covers (every enabled one)."""
    return [{"account_id": account_id, "task_id": sync_account_task.delay(account_id).id}
            for account_id, _ in accounts_to_sync(session_factory())]


@shared_task(name="workers.tasks.enforce_folders_task")
def enforce_folders_task() -> list[dict[str, Any]]:
    reports = enforce_folders(session_factory())
    return [{"account_id": r.account_id, "applied": len(r.applied.applied),
             "failed": len(r.applied.failed), "skipped": len(r.applied.skipped)}
            for r in reports]


__all__ = ["backoff", "enforce_folders_task", "session_factory", "sync_account_task",
           "sync_all"]
