"""Worker fixtures: a Redis broker per session and a real Celery worker per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery._state import get_current_app

from hub.settings import Settings
from tests.conftest import peer_missing
from tests.peers.postgres import PeerMissing
from tests.peers.redis import redis_server
from workers.celery_app import QUEUE, make_celery

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).parent / "celery"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    try:
        with redis_server() as url:
            yield url
    except PeerMissing as exc:
        peer_missing(str(exc))


@dataclass
class Worker:
    app: Celery  # the sending side, configured like the worker
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _wait_ready(worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the Celery worker exited at start:\n{worker.log_text()[-4000:]}")
        if worker.app.control.ping(destination=[worker.name], timeout=0.5):
            return
        time.sleep(0.2)
    pytest.fail(f"the Celery worker did not answer ping:\n{worker.log_text()[-4000:]}")


@pytest.fixture
def celery_worker(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Worker]:
    """A real ``celery worker`` process on the test database and the Redis broker; the
    sending app is made current, so ``task.delay`` goes to it."""
    redis.Redis.from_url(redis_url).flushdb()  # nothing left over from another test
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env.update(CLIENTHUB_DATABASE_URL=database_url, CLIENTHUB_BROKER_URL=redis_url,
               CLIENTHUB_ENVIRONMENT="test", CLIENTHUB_DATA_DIR=str(tmp_path / "var"),
               CLIENTHUB_SERVER_ROOTS=str(tmp_path),  # the tests' drives lie there
               PYTHONPATH=str(ROOT))
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path / "worker.log"
    app = make_celery(Settings(_env_file=None, broker_url=redis_url,  # type: ignore[call-arg]
                               database_url=database_url))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CELERY), "-A", "workers.celery_app", "worker", "--pool=solo",
             "--concurrency=1", "-Q", QUEUE, "-n", name, "--loglevel=INFO",
             "--without-gossip", "--without-mingle"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    worker = Worker(app=app, name=name, process=process, log=log)
    previous = get_current_app()
    try:
        _wait_ready(worker)
        app.set_current()
        yield worker
    finally:
        process.terminate()  # warm shutdown: finishes the task at hand
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        previous.set_current()
        app.close()
        # Shown by pytest only when the test failed.
        print(f"--- celery worker log ({name}) ---\n{worker.log_text()[-8000:]}")
