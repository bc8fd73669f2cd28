"""A throw-away Redis server: the Celery broker of the worker tests.

It lives in a temp dir, listens on a free loopback port and keeps nothing on disk
(``--save '' --appendonly no``); it is stopped when the context ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.peers.postgres import PeerMissing, free_port, stop_process


def _binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise PeerMissing("redis-server is not installed; install the Debian package "
                          "redis-server (scripts/install-peers.sh does)")
    return found


@contextmanager
def redis_server() -> Iterator[str]:
    """Yields ``redis://127.0.0.1:<port>/0`` of a fresh server."""
    binary = _binary()
    root = Path(tempfile.mkdtemp(prefix="clienthub-redis-"))
    port = free_port()
    log = root / "redis.log"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root),
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait(process, port, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise PeerMissing(f"redis-server exited at start: {tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise PeerMissing(f"redis-server did not answer PING on port {port}")
