"""``clienthub demo`` (what ``make demo`` runs) as a newcomer starts it: a process of its
own on a free port, read until it says it serves and it answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.peers.postgres import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunningDemo:
    url: str
    #: What it printed up to "Serving on", line by line.
    lines: list[str]

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def running_demo(where: Path, *, start_within: float = 90) -> Iterator[RunningDemo]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(where), "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "demo", "--port", str(port),
                             "--data-dir", str(where / "demo")], env=env, cwd=where,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + start_within
        assert proc.stdout is not None
        while time.monotonic() < deadline and not any("Serving on" in ln for ln in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any("Serving on" in ln for ln in lines), "".join(lines)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield RunningDemo(url, lines)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
