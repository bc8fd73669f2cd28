"""Layers point one way: api -> hub; workers -> hub; connectors -> hub.sync.protocol only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_hub_imports_no_outer_layer():
    bad = [(f, m) for f, m in _imports("hub") if _top(m) in {"api", "workers", "connectors"}]
    assert bad == []


def test_workers_do_not_import_the_api():
    # Workers build connectors and hand them to the hub; they never serve or route.
    assert [(f, m) for f, m in _imports("workers") if _top(m) == "api"] == []


def test_connectors_see_only_the_sync_protocol():
    bad = [(f, m) for f, m in _imports("connectors")
           if (_top(m) == "hub" and m != "hub.sync.protocol")
           or _top(m) in {"api", "workers", "sqlalchemy"}]
    assert bad == []


def test_settings_is_the_only_reader_of_the_environment():
    readers = []
    for package in ("hub", "api", "workers", "connectors"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "os.getenv" in text:
                readers.append(str(path.relative_to(ROOT)))
    # The CLI only *sets* PYTHONUNBUFFERED for its own process.
    assert readers in ([], ["api/cli.py"])
