"""Throw-away WebDAV servers for the connector tests, each serving a temp dir of its own
on a free loopback port with one user and password (basic auth):

* wsgidav (PyPI ``wsgidav`` + ``cheroot``), run in a subprocess so that its allocations
  stay out of the tests' memory measurements. It gives files ETags, folders none.
* ``rclone serve webdav`` (Debian package ``rclone``), with a 100 ms directory cache.
  Files get ETags (mtime and size), folders none.

Tests change the tree directly on disk under :attr:`WebDavPeer.root` and then call
:meth:`WebDavPeer.settle`, which waits out rclone's directory cache. That cache cannot be
turned off: at ``--dir-cache-time 0s`` rclone re-reads the folder for every child it
describes, and a PROPFIND of 5,000 files takes minutes instead of a third of a second.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.peers.postgres import PeerMissing, free_port, stop_process


@dataclass(frozen=True, slots=True)
class WebDavPeer:
    kind: str
    url: str
    root: Path
    username: str
    password: str
    #: How long a change on disk may stay unseen by the server.
    cache_seconds: float = 0

    def settle(self) -> None:
        if self.cache_seconds:
            time.sleep(self.cache_seconds * 1.5)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerMissing(f"{url} exited at start: {log.read_text(errors='replace')[-1500:]}")
        try:
            # Any HTTP answer (401 without credentials) means the server is up.
            httpx.request("OPTIONS", url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise PeerMissing(f"no WebDAV server answered at {url}: {log.read_text(errors='replace')}")


@contextmanager
def _served(kind: str, command: list[str], tmp: Path, port: int, files: Path,
            username: str, password: str, cache_seconds: float = 0) -> Iterator[WebDavPeer]:
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(process, url, log)
        yield WebDavPeer(kind, url, files, username, password, cache_seconds)
    finally:
        stop_process(process)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def wsgidav_server() -> Iterator[WebDavPeer]:
    if importlib.util.find_spec("wsgidav") is None or importlib.util.find_spec("cheroot") is None:
        raise PeerMissing("wsgidav is not installed; pip install -e '.[dev]' (wsgidav, cheroot)")
    tmp = Path(tempfile.mkdtemp(prefix="clienthub-wsgidav-"))
    files = tmp / "files"
    files.mkdir()
    port = free_port()
    username, password = "kirjanpitaja", uuid.uuid4().hex
    config = {
        "host": "127.0.0.1",
        "port": port,
        "server": "cheroot",
        "provider_mapping": {"/": str(files)},
        "http_authenticator": {"accept_basic": True, "accept_digest": False,
                               "default_to_digest": False, "trusted_auth_header": None},
        "simple_dc": {"user_mapping": {"*": {username: {"password": password}}}},
        "dir_browser": {"enable": False},
        "lock_storage": True,
        "verbose": 1,
    }
    (tmp / "wsgidav.json").write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, "-m", "wsgidav.server.server_cli",
               "--config", str(tmp / "wsgidav.json")]
    with _served("wsgidav", command, tmp, port, files, username, password) as peer:
        yield peer


@contextmanager
def rclone_server() -> Iterator[WebDavPeer]:
    rclone = shutil.which("rclone")
    if rclone is None:
        raise PeerMissing("rclone is not installed; install the Debian package rclone "
                          "(scripts/install-peers.sh does)")
    tmp = Path(tempfile.mkdtemp(prefix="clienthub-rclone-"))
    files = tmp / "files"
    files.mkdir()
    (tmp / "rclone.conf").touch()
    port = free_port()
    username, password = "kirjanpitaja", uuid.uuid4().hex
    command = [rclone, "serve", "webdav", str(files), "--addr", f"127.0.0.1:{port}",
               "--user", username, "--pass", password, "--config", str(tmp / "rclone.conf"),
               "--dir-cache-time", "100ms", "--poll-interval", "0s"]
    with _served("rclone", command, tmp, port, files, username, password, 0.1) as peer:
        yield peer
