"""The Celery app, built from :class:`hub.settings.Settings`.

Embedded (no ``CLIENTHUB_BROKER_URL``): Celery's in-memory transport with eager tasks, so
a single-machine install runs every task in the calling process and needs no broker.
Scaled out (a Redis URL): ``celery -A workers.celery_app worker -B`` on as many machines
as wanted, Redis carrying the tasks and their results, beat the schedule.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from celery.schedules import crontab

from hub.settings import Settings, get_settings

QUEUE = "clienthub"
EMBEDDED_BROKER = "memory://"


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "sync-all": {
            "task": "workers.tasks.sync_all",
            "schedule": timedelta(minutes=settings.sync_interval_minutes),
        },
        "enforce-folders": {
            "task": "workers.tasks.enforce_folders_task",
            # crontab is read in the app's time zone, the firm's.
            "schedule": crontab(minute=0, hour=settings.folders_enforce_hour),
        },
    }


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    embedded = settings.broker_url is None
    app = Celery("clienthub", include=["workers.tasks"])
    app.conf.update(
        broker_url=settings.broker_url or EMBEDDED_BROKER,
        # Results go back over the broker's Redis; embedded tasks hand theirs back directly.
        result_backend=None if embedded else settings.broker_url,
        result_expires=timedelta(hours=6),
        task_always_eager=embedded,
        task_eager_propagates=embedded,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        timezone=settings.time_zone,
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_celery()

__all__ = ["EMBEDDED_BROKER", "QUEUE", "app", "beat_schedule", "make_celery"]
