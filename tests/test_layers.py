"""Layers point one way: api -> hub; workers -> hub; connectors -> hub.sync.protocol (and
the parsed mail shape beside it) only."""

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


#: What connectors may import of the hub: the protocol, and the shape of a parsed mail
#: message, which the shared mail parser builds and the hub's filing reads.
CONNECTOR_SEES = {"hub.sync.protocol", "hub.sync.parsed_mail"}


def test_connectors_see_only_the_sync_protocol():
    bad = [(f, m) for f, m in _imports("connectors")
           if (_top(m) == "hub" and m not in CONNECTOR_SEES)
           or _top(m) in {"api", "workers", "sqlalchemy"}]
    assert bad == []


def test_settings_is_the_only_reader_of_the_environment():
    readers = []
    for package in ("hub", "api", "workers", "connectors"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "os.getenv" in text:
                readers.append(str(path.relative_to(ROOT)))
    # The CLI only *sets* PYTHONUNBUFFERED for its own process. hub/database_url.py reads
    # the two settings that place the database as the settings read them, for the command
    # that must answer before pydantic-settings could load (tests/test_database_url.py
    # holds the two readings equal).
    assert set(readers) <= {"api/cli.py", "hub/database_url.py"}


# --- inside hub: packages in layers, reactions from above --------------------------------
#
#  api/ (routers, CLI)   workers/ (tasks)         thin: parse, call, render
#  hub/flows/                                     cross-domain reactions, syncing an account
#  hub/<domain>/ services                         import only down, no sibling cycles
#  hub/access/                                    every access decision
#  hub/<domain>/models.py, hub/sync/, db, settings, errors, naming, ...
#
# A package's ``models.py`` (its tables) is a node of its own in the graph: tables are the
# bottom layer that every service and the access policy read (``hub.access`` reads
# ``hub.clients.models``, ``hub.clients`` calls ``hub.access.policy``), not a step up.
# Imports within one package are not edges.

#: hub modules that sit above the flows: the demo firm is a scripted use of the interfaces.
ABOVE_FLOWS = {"demo", "demo_drive", "demo_mail"}


def _hub_node(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "hub" or len(parts) < 2:
        return None
    if len(parts) >= 3 and parts[2] == "models":
        return f"{parts[1]}.models"
    return parts[1]


def hub_graph() -> dict[str, dict[str, list[str]]]:
    """node -> node it imports -> the files and modules that make the edge."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted((ROOT / "hub").rglob("*.py")):
        rel = path.relative_to(ROOT / "hub").parts
        node = rel[0].removesuffix(".py") if len(rel) == 1 else (
            f"{rel[0]}.models" if rel[-1] == "models.py" else rel[0])
        for node_ast in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[str] = []
            if isinstance(node_ast, ast.Import):
                modules = [a.name for a in node_ast.names]
            elif (isinstance(node_ast, ast.ImportFrom) and node_ast.module
                  and node_ast.level == 0):
                modules = [node_ast.module]
                if node_ast.module == "hub" or node_ast.module.count(".") == 1:
                    # ``from hub import demo``, ``from hub.drive import roots``
                    modules += [f"{node_ast.module}.{a.name}" for a in node_ast.names]
            for module in modules:
                target = _hub_node(module)
                # Within a package (its tables and its other modules) is not an edge.
                if target is not None and target.split(".")[0] != node.split(".")[0]:
                    graph.setdefault(node, {}).setdefault(target, []).append(
                        f"{path.relative_to(ROOT)} -> {module}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_among_hub_packages():
    graph = hub_graph()
    cycles = _cycles(graph)
    edges = [edge for component in cycles for source in component
             for target, where in graph.get(source, {}).items() if target in component
             for edge in where]
    assert cycles == [], "\n".join(edges)


def test_domain_packages_never_import_the_flows():
    graph = hub_graph()
    bad = [edge for source, targets in graph.items()
           if source != "flows" and source not in ABOVE_FLOWS
           for edge in targets.get("flows", [])]
    assert bad == []


def test_tables_import_only_tables_and_the_base():
    graph = hub_graph()
    bad = [edge for source, targets in graph.items() if source.endswith(".models")
           for target, where in targets.items()
           if not target.endswith(".models") and target not in {"db", "timeutil"}
           for edge in where]
    assert bad == []


def test_the_api_does_not_import_workers():
    # Both build on hub.flows with connectors.registry; neither calls the other.
    assert [(f, m) for f, m in _imports("api") if _top(m) == "workers"] == []


def test_connectors_are_built_in_one_place():
    """The interfaces and tasks reach connectors only through ``connectors.registry``."""
    bad = [(f, m) for package in ("api", "workers") for f, m in _imports(package)
           if _top(m) == "connectors" and m != "connectors.registry"
           and not (m == "connectors" and _names_registry(f))]
    assert bad == []


def _names_registry(file: str) -> bool:
    tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
    return all(a.name == "registry" for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == "connectors"
               for a in node.names)


# --- writes are explicit ------------------------------------------------------------------

#: What a hook on every session would be registered on: a session class, its transactions
#: or a factory of sessions (listening on one session instance is explicit and allowed).
_SESSION_TARGETS = {"Session", "HubSession", "SessionTransaction", "sessionmaker",
                    "scoped_session"}


def _session_hooks(source: str, where: str) -> list[str]:
    """Hooks registered on every session (``listens_for(Session, ...)``, ``event.listen(
    Session, ...)``) and writes into an ``info`` mapping (``session.info[...] = ...``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "listens_for", "listen")
                and node.args and isinstance(node.args[0], (ast.Name, ast.Attribute))
                and getattr(node.args[0], "id", getattr(node.args[0], "attr", ""))
                in _SESSION_TARGETS):
            found.append(f"{where}:{node.lineno} listens_for(Session")
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if (isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Attribute)
                        and sub.value.attr == "info"):
                    found.append(f"{where}:{node.lineno} info[...] =")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("setdefault", "update", "pop", "clear", "popitem")
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "info"):
            found.append(f"{where}:{node.lineno} info.{node.func.attr}")
    return found


def test_no_hooks_on_every_session():
    """What a transaction does (takes the write turn, anchors the audit trail once it has
    committed) is asked of the session doing it, never by a hook that exists because some
    module was imported; and timeline entries and audit rows are written where the change
    is made, in its transaction."""
    found = [hit for package in ("hub", "api", "workers", "connectors")
             for path in sorted((ROOT / package).rglob("*.py"))
             for hit in _session_hooks(path.read_text(encoding="utf-8"),
                                       str(path.relative_to(ROOT)))]
    assert found == []


def test_the_hook_scan_finds_hooks():
    source = """\
from sqlalchemy import event, orm
from sqlalchemy.orm import Session

@event.listens_for(Session, "after_commit")
def hook(session): ...

event.listen(orm.Session, "after_begin", hook)
event.listen(HubSession, "after_flush", hook)
session.info["wrote"] = True
session.info.pop("wrote", None)
session.info.setdefault("wrote", True)

@event.listens_for(engine, "connect")
def pragmas(conn, record): ...

event.listen(session, "after_commit", hook)
session.info.get("wrote")
"""
    hits = [hit.split(":", 1)[1] for hit in _session_hooks(source, "inline")]
    assert sorted(hits, key=lambda hit: int(hit.split()[0])) == [
        "4 listens_for(Session", "7 listens_for(Session", "8 listens_for(Session",
        "9 info[...] =", "10 info.pop", "11 info.setdefault"]


# --- no SQL in routers, CLI commands or tasks ----------------------------------------------

#: What may stay for now, each with why (none: ``serve`` and the timeline router hold no
#: SQL either).
SQL_ALLOWED: set[str] = set()
_SQL_NAMES = {"select", "insert", "update", "delete", "text", "func", "exists", "and_",
              "or_", "union", "literal"}
_SESSION_SQL = {"execute", "scalars", "scalar"}


def _sql_in(path: Path) -> list[str]:
    where = str(path.relative_to(ROOT))
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                and (node.module == "sqlalchemy" or node.module.startswith("sqlalchemy.sql"))):
            found += [f"{where}:{node.lineno} imports {a.name}" for a in node.names
                      if a.name in _SQL_NAMES]
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _SQL_NAMES - {"text"}:
                found.append(f"{where}:{node.lineno} {func.id}(")
            elif isinstance(func, ast.Attribute) and func.attr in _SESSION_SQL:
                found.append(f"{where}:{node.lineno} .{func.attr}(")
    return found


def test_no_sql_in_routers_cli_or_tasks():
    paths = [*(ROOT / "api" / "routers").glob("*.py"), *(ROOT / "api").glob("cli*.py"),
             *(ROOT / "api" / "web").rglob("*.py"), *(ROOT / "workers").glob("*.py")]
    found = [hit for path in sorted(paths) if str(path.relative_to(ROOT)) not in SQL_ALLOWED
             for hit in _sql_in(path)]
    assert found == []


def test_the_sync_layer_knows_accounts_only_by_id():
    # The runner, run records, leases and source records sit below every domain package:
    # what a sink needs of an account comes from the caller that knows the accounts.
    graph = hub_graph()
    bad = [edge for source in ("sync", "sync.models")
           for target, where in graph.get(source, {}).items()
           if target not in {"sync", "sync.models", "db", "bulk_rows", "errors", "timeutil"}
           for edge in where]
    assert bad == []


# --- services own authorisation and audit; interfaces are thin ------------------------------


def _calls_in(path: Path) -> list[tuple[int, ast.expr]]:
    return [(node.lineno, node.func) for node in ast.walk(ast.parse(
        path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)]


def _audit_record_names(path: Path) -> set[str]:
    """Names a module binds to ``hub.access.audit.record``: ``from ... import record``."""
    return {a.asname or a.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module == "hub.access.audit"
            for a in node.names if a.name.startswith("record")}


def test_the_api_writes_no_audit_row_itself():
    """The service that makes a change or a read writes its audit row, whichever interface
    calls it: routers and commands call services, never ``audit.record``."""
    found = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        names = _audit_record_names(path)
        for line, func in _calls_in(path):
            if ((isinstance(func, ast.Attribute) and func.attr.startswith("record")
                 and isinstance(func.value, ast.Name) and func.value.id == "audit")
                    or (isinstance(func, ast.Name) and func.id in names)):
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == []


def test_the_api_invents_no_principal():
    """A request acts as its token's user, a command as the admin ``--by`` names or as the
    command line (``None``); no interface makes up a ``Principal(...)``."""
    found = [f"{path.relative_to(ROOT)}:{line}"
             for path in sorted((ROOT / "api").rglob("*.py")) for line, func in _calls_in(path)
             if (isinstance(func, ast.Name) and func.id == "Principal")
             or (isinstance(func, ast.Attribute) and func.attr == "Principal")]
    assert found == []


def test_the_interface_scans_see_what_they_refuse(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from hub.access.audit import record\nfrom hub.access import audit\n"
                   "audit.record(s, actor_user_id=1, action='x')\nrecord(s)\n"
                   "Principal(0)\npolicy.Principal(1, is_admin=True)\nPrincipal.of(u)\n",
                   encoding="utf-8")
    calls = _calls_in(bad)
    assert _audit_record_names(bad) == {"record"}
    assert [line for line, func in calls if isinstance(func, ast.Attribute)
            and func.attr == "record"] == [3]
    assert sorted(line for line, func in calls
                  if (isinstance(func, ast.Name) and func.id == "Principal")
                  or (isinstance(func, ast.Attribute) and func.attr == "Principal")) == [5, 6]
