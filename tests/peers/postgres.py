"""A throw-away PostgreSQL cluster for the suite, or the one named by
CLIENTHUB_TEST_POSTGRES_URL.

The cluster lives in a temp dir, listens on a free loopback port, runs with fsync off
(it is thrown away) and is stopped when the session ends. As root the server runs as the
``postgres`` user through ``runuser``, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class PeerMissing(RuntimeError):
    pass


def _binary(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise PeerMissing(
            f"PostgreSQL's {name} is not installed; install the Debian package "
            "postgresql (apt-get install postgresql) or set CLIENTHUB_TEST_POSTGRES_URL"
        )
    return found


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Ask a peer server to stop; kill it if it has not stopped in ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL to the ``postgres`` database of a fresh cluster."""
    given = os.environ.get("CLIENTHUB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="clienthub-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    log = root / "server.log"
    try:
        subprocess.run(
            _as_server_user([initdb, "-D", str(data), "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True, cwd=root,
        )
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-l", str(log), "-o", opts, "-w",
                             "-t", "60", "start"]),
            check=True, capture_output=True, cwd=root,
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-800:]
        server_log = log.read_text(errors="replace")[-800:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PeerMissing(f"could not start PostgreSQL: {detail} {server_log}") from exc
    try:
        _wait(port)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, cwd=root, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _wait(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise PeerMissing(f"PostgreSQL did not accept connections on port {port}")
