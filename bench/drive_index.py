"""Drive index: initial index, no-change and 1%-changed rescans of a generated firm drive,
Client Hub beside ``find`` (local) and ``rclone lsjson -R`` (WebDAV).

Run by hand (it prints figures, it asserts nothing)::

    .venv/bin/python -m bench.drive_index                  # N = 100000 items, 400 clients
    .venv/bin/python -m bench.drive_index --items 30000
    .venv/bin/python -m bench.drive_index --quick          # N = 10000, 100 clients: a smoke run
    .venv/bin/python -m bench.drive_index --quick --tools hub-local,find

The tree: client folders ``{customer_number} {name}`` (Finnish names, a few typed without
the dots or with underscores), each with the template's topic folders (Kirjanpito/2024..
2026, Palkanlaskenta, Tilinpäätös/2024..2025, Verotus, Sopimukset, Saapuneet) and small
files (a few bytes to a few KB, mtimes spread over 2024-2026): N items in all, the same
for a given seed. It is written into the directory a throw-away wsgidav serves
(tests/peers/webdav.py), so every tool reads the same tree: the local connector and
``find`` from disk, the WebDAV connector and rclone over HTTP.

Client Hub is the real thing: the connector (``LocalFolderConnector`` or
``WebDavConnector``) read through ``hub.sync.runner.Runner`` with the sinks of
``workers.sync`` into a fresh SQLite database holding a staff user, the clients and the
drive account; client roots are matched as a sync matches them. Each run is a child
process of its own; wall time is the child's whole life (start-up included, for every
tool alike), peak RSS its own VmHWM (``bench.imap_sync.measured``). Client Hub's
in-process time and the HTTP requests it issued (counted by an ``event_hooks`` hook on
the ``httpx.Client`` handed to the connector) are shown too.

Sequence: ``find`` twice and rclone once; Client Hub's initial index and a no-change
rescan; then 1% of the items change (files rewritten, added and deleted, two folders
renamed, a new year folder in three clients), Client Hub rescans and the peers walk
once more.

WebDAV servers differ in one thing that decides what a rescan costs: whether a folder's
ETag changes when anything below it changes. wsgidav gives folders no ETag at all, so
the connector must list every folder on every rescan. Nextcloud and ownCloud propagate
folder ETags; to show what that buys, the same wsgidav is also run with a provider that
gives each folder such an ETag (a hash of its children's names and ETags, computed when
the server starts - the bench restarts it after changing the tree, where Nextcloud
updates the ETags on every write) and the connector with ``trust_folder_etags=True``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.imap_sync import BASE, FIRST, LAST, Run, _vm_hwm_kb, byte_compile, measured

ROOT = Path(__file__).resolve().parent.parent

#: Client Hub's initial local index, in items/s, against find -printf's (warm).
TARGET_LOCAL_VS_FIND = 0.5

INSTALL_HINTS = {
    "find": "apt-get install findutils (GNU find, for -printf)",
    "rclone": "apt-get install rclone (scripts/install-peers.sh does)",
}
TOOLS = ("hub-local", "hub-webdav", "hub-etags", "find", "python-walk", "rclone")
FIND_FORMAT = r"%p\t%s\t%T@\n"

# --------------------------------------------------------------------------- the tree

TRADES = ["Rakennus", "Kuljetus", "Kahvila", "Sähkö", "Putki", "Maalaus", "Leipomo",
          "Autokorjaamo", "Kukkakauppa", "Siivouspalvelu", "Kampaamo", "Kirjapaino",
          "Metsäpalvelu", "LVI-huolto", "Hieroja", "Tilintarkastus", "Konepaja",
          "Ravintola", "Tietotekniikka", "Kiinteistöhuolto", "Hammaslääkäri", "Valokuvaamo"]
SURNAMES = sorted(set(LAST) | {"Åkerlund", "Öberg", "Lindström", "Mäkelä", "Pääkkönen",
                               "Västilä", "Härkönen", "Ylä-Outinen", "Ahlqvist", "Sjöblom"})
FORMS = ["Oy", "Oy", "Oy", "Ky", "Tmi", "Oy Ab", "Ay"]
YEARS = (2024, 2025, 2026)
MONTHS = ["tammikuu", "helmikuu", "maaliskuu", "huhtikuu", "toukokuu", "kesäkuu",
          "heinäkuu", "elokuu", "syyskuu", "lokakuu", "marraskuu", "joulukuu"]

#: File names per topic; ``{n}`` is a number unique in its folder, ``{y}`` the year,
#: ``{m}`` a month, ``{kk}`` a month's name, ``{who}`` a first name.
NAMES = {
    "root": ["muistio {n}.txt", "yhteystiedot.docx", "asiakastiedot {n}.pdf"],
    "kirjanpito": ["tosite {n:05d}.pdf", "Lasku {n}.pdf", "kuitti {n}.jpg",
                   "tiliote {m:02d}-{y} {n}.pdf", "pääkirja {kk} {y}.xlsx",
                   "ostolasku {n} – {who}.pdf", "myyntilasku {n}.pdf"],
    "palkat": ["palkkalaskelma {m:02d}-{y} {who}.pdf", "tulorekisteri-ilmoitus {n}.xml",
               "työaikakirjanpito {kk} {n}.xlsx", "lomapalkat {y} {n}.xlsx"],
    "tilinpaatos": ["tase {y}.pdf", "tuloslaskelma {y}.xlsx", "liitetiedot {y}.docx",
                    "pöytäkirja yhtiökokous {n}.pdf", "toimintakertomus {y}.docx"],
    "verotus": ["ALV-ilmoitus {m:02d}-{y}.pdf", "veropäätös {y} {n}.pdf",
                "ennakkovero {y} {n}.pdf", "Verohallinnon kirje {n}.pdf"],
    "sopimukset": ["toimeksiantosopimus {n}.pdf", "vuokrasopimus {n}.pdf",
                   "työsopimus {who} {n}.pdf", "valtakirja {n}.pdf"],
    "saapuneet": ["skannaus {n}.pdf", "IMG_{n:04d}.jpg", "sähköpostin liite {n}.pdf",
                  "Kuitit {kk} {n}.zip"],
}
TEXT = ("Tosite. Arvonlisävero 25,5 %. Yhteensä 1 234,56 €. Maksettu tililtä FI12 3456 "
        "7890 1234 56. Kiitos tilauksestanne! Tilinpäätös ja toimintakertomus hyväksytty. "
        "Palkkakausi päättyy kuun viimeisenä päivänä; ennakonpidätys 18 %. ").encode() * 80


def client_layout(payroll: bool, lean: bool) -> list[tuple[str, float, str]]:
    """(folder relative to the client root, weight for files, topic) for one client."""
    if lean:  # small N: fewer year folders, so that most items are still files
        return [("", 0.2, "root"), ("Kirjanpito/", 0.3, "kirjanpito"),
                ("Kirjanpito/2026/", 24, "kirjanpito"),
                ("Palkanlaskenta/", 4 if payroll else 0, "palkat"),
                ("Tilinpäätös/", 1.4, "tilinpaatos"), ("Verotus/", 2, "verotus"),
                ("Sopimukset/", 0.6, "sopimukset"), ("Saapuneet/", 2, "saapuneet")]
    rows = [("", 0.2, "root"), ("Kirjanpito/", 0.1, "kirjanpito"),
            ("Kirjanpito/2024/", 6, "kirjanpito"), ("Kirjanpito/2025/", 8, "kirjanpito"),
            ("Kirjanpito/2026/", 10, "kirjanpito"),
            ("Palkanlaskenta/", 0.2 if payroll else 0, "palkat")]
    if payroll:
        rows += [("Palkanlaskenta/2025/", 2, "palkat"), ("Palkanlaskenta/2026/", 2.5, "palkat")]
    rows += [("Tilinpäätös/", 0.1, "tilinpaatos"), ("Tilinpäätös/2024/", 0.6, "tilinpaatos"),
             ("Tilinpäätös/2025/", 0.8, "tilinpaatos"), ("Verotus/", 2, "verotus"),
             ("Sopimukset/", 0.6, "sopimukset"), ("Saapuneet/", 2, "saapuneet")]
    return rows


@dataclass(frozen=True, slots=True)
class ClientSpec:
    number: int
    name: str
    folder: str  # the root folder's name as written on the drive


@dataclass
class Tree:
    root: Path
    clients: list[ClientSpec]
    folders: int
    files: int
    size: int

    @property
    def items(self) -> int:
        return self.folders + self.files


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def make_clients(count: int, rng: random.Random) -> list[ClientSpec]:
    numbers = sorted(rng.sample(range(1000, 9999), count))
    clients = []
    for number in numbers:
        name = f"{rng.choice(TRADES)} {rng.choice(SURNAMES)} {rng.choice(FORMS)}"
        folder = f"{number} {name}"
        roll = rng.random()
        # As people type them: a few without the dots, a few with underscores. The
        # hub's root matching is tolerant of both.
        if roll < 0.03:
            folder = _ascii(folder)
        elif roll < 0.05:
            folder = folder.replace(" ", "_")
        clients.append(ClientSpec(number, name, folder))
    return clients


def _stamp(rng: random.Random, year: int | None) -> int:
    """An mtime in ns: in ``year`` if given, else anywhere in 2024..BASE."""
    end = int(BASE.timestamp())
    start = int(time.mktime((year or YEARS[0], 1, 1, 8, 0, 0, 0, 0, 0)))
    stop = min(end, int(time.mktime((year, 12, 31, 18, 0, 0, 0, 0, 0)))) if year else end
    return rng.randrange(start, max(start + 1, stop)) * 1_000_000_000 + rng.randrange(10**9)


def _file_name(topic: str, folder: str, counter: int, rng: random.Random) -> str:
    year = next((y for y in YEARS if f"/{y}/" in f"/{folder}"), rng.choice(YEARS))
    month = rng.randint(1, 12)
    return rng.choice(NAMES[topic]).format(n=counter, y=year, m=month, kk=MONTHS[month - 1],
                                           who=rng.choice(FIRST))


def _size(rng: random.Random) -> int:
    return max(3, min(len(TEXT), int(rng.lognormvariate(6.4, 1.3))))


def write_file(path: Path, size: int, mtime_ns: int, offset: int = 0) -> None:
    with open(path, "wb") as fh:
        fh.write(TEXT[offset % 97:offset % 97 + size])
    os.utime(path, ns=(mtime_ns, mtime_ns))


def generate(root: Path, items: int, clients: int, seed: int) -> Tree:
    """Writes the tree under ``root``: exactly ``items`` files and folders below it."""
    rng = random.Random(seed)
    specs = make_clients(clients, rng)
    lean = items < 40 * clients
    folders: list[tuple[str, float, str]] = []  # (path from root, weight, topic)
    for spec in specs:
        weight = rng.lognormvariate(0, 0.8)  # a few big clients, many small ones
        for rel, w, topic in client_layout(rng.random() < 0.6, lean):
            folders.append((f"{spec.folder}/{rel}", w * weight, topic))
    n_files = items - len(folders)
    if n_files < 0:
        raise SystemExit(f"{items} items cannot hold {clients} clients' {len(folders)} "
                         "folders; give more --items or fewer --clients")
    for path, _w, _t in folders:
        (root / path).mkdir(parents=True, exist_ok=True)
    cum, total = [], 0.0
    for _p, w, _t in folders:
        total += w
        cum.append(total)
    chosen = rng.choices(range(len(folders)), cum_weights=cum, k=n_files)
    taken: dict[int, set[str]] = {}
    size = 0
    for count, index in enumerate(chosen):
        path, _w, topic = folders[index]
        names = taken.setdefault(index, set())
        name = _file_name(topic, path, len(names) + 1, rng)
        if name in names:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} ({len(names) + 1}).{ext}" if dot else f"{name} ({len(names) + 1})"
        names.add(name)
        year = next((y for y in YEARS if f"/{y}/" in path), None)
        nbytes = _size(rng)
        write_file(root / path / name, nbytes, _stamp(rng, year), count)
        size += nbytes
    # Folders keep the times of their making; the topic folders look years old.
    for path, _w, _t in sorted(folders, key=lambda f: -len(f[0])):
        stamp = _stamp(rng, None)
        os.utime(root / path, ns=(stamp, stamp))
    return Tree(root, specs, len(folders), n_files, size)


def walk_tree(root: Path) -> tuple[list[str], list[str]]:
    """(folders, files) below ``root`` as relative POSIX paths, folders ending in "/"."""
    folders, files = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        folders += [f"{prefix}{d}/" for d in dirnames]
        files += [f"{prefix}{f}" for f in sorted(filenames)]
    return folders, files


@dataclass
class Change:
    modified: int = 0
    added: int = 0
    new_folders: int = 0
    deleted: int = 0
    renamed: list[tuple[str, str, int]] = field(default_factory=list)  # (old, new, items)

    @property
    def moved(self) -> int:
        return sum(n for _o, _n, n in self.renamed)

    @property
    def total(self) -> int:
        return self.modified + self.added + self.new_folders + self.deleted + self.moved

    def describe(self, items: int) -> str:
        renames = ", ".join(f"{o!r} -> {n.rsplit('/', 2)[-2]!r} ({k} items)"
                            for o, n, k in self.renamed)
        return (f"{self.modified:,} files rewritten (content and mtime), {self.added:,} files "
                f"added, {self.new_folders} new folders, {self.deleted:,} files deleted, "
                f"{len(self.renamed)} folders renamed ({renames}): {self.total:,} items = "
                f"{100 * self.total / items:.2f}% of {items:,}")


def change_one_percent(root: Path, items: int, seed: int) -> Change:
    """Changes about 1% of the items below ``root``, the same way for the same seed."""
    rng = random.Random(seed + 1)
    folders, files = walk_tree(root)
    budget = max(10, items // 100)
    change = Change()
    # Two folders renamed, each holding about 5% of the budget.
    want = max(1, budget // 20)
    candidates = [f for f in folders if f.count("/") == 2 and f.rsplit("/", 2)[-2]
                  in ("Saapuneet", "Sopimukset", "Verotus")]
    # Items below each "client/topic/" folder: files two levels down or deeper,
    # folders three levels down or deeper.
    below = Counter("/".join(p.split("/", 2)[:2]) + "/" for p in files + folders
                    if p.count("/") - p.endswith("/") >= 2)
    sizes = {f: below[f] for f in candidates}
    fitting = sorted(candidates, key=lambda f: (abs(sizes[f] - want), f))[:20]
    renamed = sorted(rng.sample(fitting, min(2, len(fitting))))
    new_names = {"Saapuneet": "Saapuneet (käsitelty)", "Sopimukset": "Sopimukset ja valtakirjat",
                 "Verotus": "Verotus – arkisto"}
    for old in renamed:
        parent, _, name = old.rstrip("/").rpartition("/")
        new = f"{parent}/{new_names[name]}/"
        os.rename(root / old, root / new)
        change.renamed.append((old, new, sizes[old] + 1))
    files = [f for f in files if not any(f.startswith(old) for old in renamed)]
    budget -= change.moved
    picked = rng.sample(files, min(len(files), int(budget * 0.65)))
    to_modify, to_delete = picked[:int(budget * 0.45)], picked[int(budget * 0.45):]
    now = time.time_ns()
    for i, rel in enumerate(to_modify):
        path = root / rel
        size = path.stat().st_size
        write_file(path, size + 17 if size + 17 <= len(TEXT) else size - 17, now - i * 1000,
                   i + 5)
        change.modified += 1
    for rel in to_delete:
        (root / rel).unlink()
        change.deleted += 1
    # New files: most into existing folders, some into a new year folder of a few clients.
    tops = sorted({f.split("/", 1)[0] for f in folders})
    for top in rng.sample(tops, min(3, len(tops))):
        year = root / top / "Kirjanpito" / "2027"
        year.mkdir(parents=True, exist_ok=True)
        change.new_folders += 1
        for n in range(1, 6):
            write_file(year / f"tosite {n:05d}.pdf", _size(rng), now, n)
            change.added += 1
    targets = [f for f in folders if not any(f.startswith(old) for old in renamed)]
    remaining = max(0, budget - change.modified - change.deleted - change.added
                    - change.new_folders)
    for n in range(remaining):
        folder = root / rng.choice(targets)
        write_file(folder / f"uusi tosite {n:05d}.pdf", _size(rng), now, n)
        change.added += 1
    return change


# --------------------------------------------------------------------------- WebDAV servers

def folder_etags(root: str | Path) -> dict[str, str]:
    """Nextcloud-style folder ETags for every folder below and at ``root`` (absolute
    paths): a hash of the children's names and ETags, so it changes whenever anything
    below changes. File ETags as wsgidav makes them (inode-mtime-size)."""
    etags: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(os.path.abspath(root), topdown=False):
        digest = hashlib.blake2b(digest_size=10)
        subfolders = set(dirnames)
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            if name in subfolders:
                tag = etags.get(path, "")
            else:
                info = os.stat(path)
                tag = f"{info.st_ino}-{int(info.st_mtime)}-{info.st_size}"
            digest.update(f"{name}\0{tag}\n".encode("utf-8", "surrogateescape"))
        etags[dirpath] = digest.hexdigest()
    return etags


def serve_dav(config_path: str) -> None:
    """The child that serves wsgidav with propagated folder ETags (see the module doc)."""
    from wsgidav.default_conf import DEFAULT_CONFIG
    from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource
    from wsgidav.server.server_cli import _run_cheroot
    from wsgidav.wsgidav_app import WsgiDAVApp

    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    root = os.path.abspath(config["provider_mapping"]["/"])
    etags = folder_etags(root)

    class Folder(FolderResource):
        def get_etag(self) -> str | None:
            return etags.get(self._file_path)

    class Provider(FilesystemProvider):
        def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
            found = super().get_resource_inst(path, environ)
            if isinstance(found, FolderResource):
                return Folder(path, environ, found._file_path)
            return found

    fs_opts = dict(DEFAULT_CONFIG.get("fs_dav_provider") or {})
    config["provider_mapping"] = {"/": Provider(root, fs_opts=fs_opts)}
    _run_cheroot(WsgiDAVApp(config), config, "cheroot")


@contextmanager
def etag_server(files: Path, username: str, password: str) -> Iterator[Any]:
    """wsgidav on ``files`` with folder ETags, in a child of its own, until the block ends."""
    from tests.peers.postgres import free_port
    from tests.peers.webdav import _served

    tmp = Path(tempfile.mkdtemp(prefix="bench-dav-etags-"))
    port = free_port()
    config = {
        "host": "127.0.0.1", "port": port, "server": "cheroot",
        "provider_mapping": {"/": str(files)},
        "http_authenticator": {"accept_basic": True, "accept_digest": False,
                               "default_to_digest": False, "trusted_auth_header": None},
        "simple_dc": {"user_mapping": {"*": {username: {"password": password}}}},
        "dir_browser": {"enable": False}, "lock_storage": True, "verbose": 1,
    }
    (tmp / "wsgidav.json").write_text(json.dumps(config), encoding="utf-8")
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from bench.drive_index import serve_dav; serve_dav({str(tmp / 'wsgidav.json')!r})")
    with _served("wsgidav+etags", [sys.executable, "-c", code], tmp, port, files, username,
                 password) as peer:
        yield peer


# --------------------------------------------------------------------------- Client Hub

def hub_setup(path: Path, tree: Tree, kind: str, settings: dict[str, Any],
              secret: str | None) -> tuple[str, int]:
    """A fresh database: a staff user, the tree's clients and one drive account."""
    from hub import schema
    from hub.access.policy import Principal
    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account
    from hub.clients.models import Client
    from hub.db import make_engine, make_session_factory
    from hub.staff.models import User

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        owner = User(email="mikko@tilitoimisto.example", name="Mikko", is_admin=True)
        session.add(owner)
        session.flush()
        for spec in tree.clients:
            session.add(Client(name=spec.name, name_key=spec.name.casefold(),
                               customer_number=spec.number, status="active"))
        account = create_account(session, Principal(owner.id, is_admin=True), AccountIn(
            kind=kind, name=f"Asiakaskansiot ({kind})", settings=settings, secret=secret))
        session.commit()
        account_id = account.id
    engine.dispose()
    return url, account_id


class Counted:
    """The connector as the runner sees it, counting what it yields."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()

    def streams(self) -> Any:
        return self.inner.streams()

    def check(self) -> None:
        self.inner.check()

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Any]:
        from hub.sync.protocol import Item

        for element in self.inner.read(stream, cursor):
            if isinstance(element, Item):
                if element.kind == "listing":  # a folder, and the entries it names
                    self.counts["listing"] += 1
                    self.counts["entry"] += (len(element.data.get("files") or [])
                                             + len(element.data.get("folders") or []))
                else:
                    self.counts["deleted" if element.deleted else element.kind] += 1
            yield element


def hub_child(spec: dict[str, Any]) -> None:
    """The child side: one sync of the account, then a JSON line with what it did."""
    import importlib

    import httpx
    from sqlalchemy import func, select

    from hub.accounts.models import Account
    from hub.accounts.secrets import reveal_secret
    from hub.db import make_engine, make_session_factory
    from hub.drive.models import ClientRoot, DriveFolder
    from hub.drive.roots import recalculate
    from hub.flows.sync import account_row
    from hub.process import settle
    from hub.sync.runner import Runner
    from workers.sync import connector_for, sinks

    # As in a running worker (see bench.imap_sync): code loaded, then the clock starts.
    for module in ("connectors.local", "connectors.webdav", "hub.drive.sink"):
        importlib.import_module(module)
    settle()

    engine = make_engine(spec["db"])
    factory = make_session_factory(engine)
    requests: Counter[str] = Counter()
    client = None
    with factory() as session:
        account = session.get(Account, spec["account"])
        assert account is not None
        settings = dict(account.settings)
        if account.kind == "webdav":
            from connectors.webdav import WebDavConnector

            client = httpx.Client(timeout=60, event_hooks={
                "request": [lambda request: requests.update([request.method])]})
            inner: Any = WebDavConnector(
                spec.get("url") or settings["url"], settings["username"],
                reveal_secret(account) or "", root=str(settings.get("root") or "/"),
                client=client, trust_folder_etags=spec.get("trust"))
        else:
            inner = connector_for(account, None)
    connector = Counted(inner)

    def sync() -> list[Any]:
        # As workers.sync.sync_account does, with the connector built here.
        runs = Runner(factory, sinks("local"), account=account_row).run(spec["account"],
                                                                        connector)
        with factory() as session:
            drive = session.get(Account, spec["account"])
            assert drive is not None
            recalculate(session, drive)
            session.commit()
        return runs

    start = time.perf_counter()
    if spec.get("profile"):
        import cProfile

        prof = cProfile.Profile()
        runs = prof.runcall(sync)
        prof.dump_stats(spec["profile"])
    else:
        runs = sync()
    elapsed = time.perf_counter() - start
    if client is not None:
        client.close()
    live = DriveFolder.deleted_at.is_(None)
    with factory() as session:
        files, folders = session.execute(select(
            func.coalesce(func.sum(DriveFolder.file_count), 0),
            func.count().filter(DriveFolder.path != "")).where(live)).one()
        filed_files, filed_folders = session.execute(select(
            func.coalesce(func.sum(DriveFolder.file_count), 0), func.count()).where(
            live, DriveFolder.client_id.is_not(None))).one()
        roots = session.scalar(select(func.count()).select_from(ClientRoot).where(
            ClientRoot.client_id.is_not(None)))
    print(json.dumps({
        "elapsed": elapsed, "yielded": dict(connector.counts), "requests": dict(requests),
        "files": int(files), "folders": int(folders),
        "filed": int(filed_files) + int(filed_folders),
        "roots": roots, "vm_hwm_kb": _vm_hwm_kb(os.getpid()),
        "runs": [[r.stream, r.status, r.message, r.items, r.errors] for r in runs]}))


@dataclass
class Row:
    tool: str
    run: str
    items: int  # in the tree
    result: Run
    yielded: int | None = None
    requests: int | None = None
    peer: str | None = None  # the key of the peer row this one is compared with
    key: str = ""
    detail: str = ""

    @property
    def section(self) -> str:
        return self.tool.split(" · ")[-1] if "·" in self.tool else "local"


def run_hub(spec: dict[str, Any], expect_files: int, expect_folders: int, clients: int,
            timeout: float) -> tuple[Run, dict[str, Any]]:
    argv = [sys.executable, "-m", "bench.drive_index", "--child", json.dumps(spec)]
    run, text = measured(argv, timeout=timeout, cwd=ROOT)
    try:
        info = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run.ok, run.note = False, (run.note or "no result") + ": " + text[-300:]
        return run, {}
    run.inproc = info["elapsed"]
    problems = [f"{r[0]} {r[1]}: {r[2]}" for r in info["runs"] if r[1] != "ok" or r[4]]
    if (info["files"], info["folders"]) != (expect_files, expect_folders):
        problems.append(f"index holds {info['files']:,} files, {info['folders']:,} folders; "
                        f"the tree {expect_files:,}, {expect_folders:,}")
    if info["filed"] != expect_files + expect_folders:
        problems.append(f"{info['filed']:,} items filed under clients")
    if info["roots"] != clients:
        problems.append(f"{info['roots']} of {clients} client roots matched")
    if problems:
        run.ok = False
        run.note = "; ".join(problems)[:300]
    return run, info


def _breakdown(info: Mapping[str, Any]) -> str:
    counts = info.get("yielded") or {}
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "nothing"


# --------------------------------------------------------------------------- peers

def run_find(root: Path, timeout: float) -> Run:
    command = f"exec find {shlex.quote(str(root))} -printf '{FIND_FORMAT}' > /dev/null"
    run, text = measured(["sh", "-c", command], timeout=timeout)
    if not run.ok:
        run.note += " " + text[-300:].strip()
    return run


#: What find -printf does, in Python and nothing more: list every directory and lstat every
#: entry, keep nothing. No Python connector can index faster than this walks; its row
#: shows how much of the gap to find is the language's, before anything is stored.
PYTHON_WALK = """
import os, sys
stack, count = [sys.argv[1]], 0
while stack:
    with os.scandir(stack.pop()) as listing:
        for entry in listing:
            info = entry.stat(follow_symlinks=False)
            count += 1
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
print(count)
"""


def run_python_walk(root: Path, expect: int, timeout: float) -> Run:
    run, text = measured([sys.executable, "-c", PYTHON_WALK, str(root)], timeout=timeout)
    if run.ok and text.strip() != str(expect):
        run.ok, run.note = False, f"walked {text.strip()[-40:]} of {expect:,} items"
    return run


@dataclass
class Rclone:
    url: str
    user: str
    password: str  # obscured, as rclone wants it on the command line
    config: Path

    def run(self, expect: int, timeout: float) -> Run:
        argv = [shutil.which("rclone") or "rclone", "lsjson", "-R", ":webdav:",
                "--webdav-url", self.url, "--webdav-user", self.user,
                "--webdav-pass", self.password, "--webdav-vendor", "other",
                "--config", str(self.config)]
        run, text = measured(argv, timeout=timeout)
        listed = sum(1 for line in text.splitlines() if line.startswith('{"Path":'))
        if run.ok and listed != expect:
            run.ok, run.note = False, f"listed {listed:,} of {expect:,} items"
        if not run.ok:
            run.note += " " + text[-300:].strip()
        return run


def make_rclone(peer: Any, workdir: Path) -> Rclone:
    config = workdir / "rclone.conf"
    config.touch()
    obscured = subprocess.run(["rclone", "obscure", peer.password, "--config", str(config)],
                              capture_output=True, text=True, check=True).stdout.strip()
    return Rclone(peer.url, peer.username, obscured, config)


# --------------------------------------------------------------------------- report

def _verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[red]MISS[/]"


def print_report(rows: list[Row], tree: Tree, change: Change | None,
                 notes: list[str], targets: list[tuple[str, str, str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    by_key = {r.key: r for r in rows if r.key}
    table = Table(title=f"Drive index: {tree.items:,} items ({tree.files:,} files, "
                        f"{tree.folders:,} folders), {len(tree.clients)} client folders")
    for col in ("tool", "run", "items", "yielded", "requests", "wall s", "(in-proc s)",
                "items/s", "× peer", "peak RSS MB", "note"):
        table.add_column(col, justify="left" if col in ("tool", "run", "note") else "right")
    order = {"local": 0, "wsgidav": 1}
    section = None
    for r in sorted(rows, key=lambda r: order.get(r.section, 2)):  # stable: runs in order
        if section is not None and r.section != section:
            table.add_section()
        section = r.section
        rate = r.items / r.result.wall if r.result.ok and r.result.wall else None
        ratio = ""
        peer = by_key.get(r.peer or "")
        if rate and peer is not None and peer.result.ok:
            ratio = f"{rate / (peer.items / peer.result.wall):.2f}x"
        table.add_row(
            r.tool, r.run, f"{r.items:,}",
            f"{r.yielded:,}" if r.yielded is not None else "",
            f"{r.requests:,}" if r.requests is not None else "",
            f"{r.result.wall:.2f}",
            f"{r.result.inproc:.2f}" if r.result.inproc is not None else "",
            f"{rate:,.0f}" if rate else "-", ratio, f"{r.result.rss_mb:.0f}",
            "; ".join(x for x in (r.detail, r.result.note) if x)[:160])
    console.print(table)
    console.print("items/s: items in the tree / wall time. × peer: Client Hub's items/s "
                  "divided by the peer's on the same tree (find's warm run; rclone against "
                  "plain wsgidav). yielded: items the connector handed to the runner.")
    if change is not None:
        console.print(f"1% change: {change.describe(tree.items)}", markup=False)
    for note in notes:
        console.print(note, markup=False)
    table = Table(title="Client Hub against its targets")
    for col in ("check", "figure", "target", "verdict"):
        table.add_column(col)
    for row in targets:
        table.add_row(*row)
    console.print(table)


# --------------------------------------------------------------------------- main

@contextmanager
def tree_home(want_webdav: bool) -> Iterator[tuple[Path, Any]]:
    """Where the tree lives: the directory wsgidav serves, or a temp dir of our own
    when wsgidav is missing (then only the local side is measured)."""
    from tests.peers.postgres import PeerMissing
    from tests.peers.webdav import wsgidav_server

    with ExitStack() as stack:
        peer = None
        if want_webdav:
            try:
                peer = stack.enter_context(wsgidav_server())
            except PeerMissing as exc:
                print(f"!! WebDAV (wsgidav, rclone, Client Hub over WebDAV) skipped: {exc}")
        if peer is not None:
            yield peer.root, peer
        else:
            yield Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bench-drive-tree-"))), None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.drive_index", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000,
                    help="files and folders in the tree (default 100000)")
    ap.add_argument("--quick", action="store_true",
                    help="10000 items under 100 client folders, a smoke run")
    ap.add_argument("--clients", type=int,
                    help="client folders (default 400; 100 with --quick)")
    ap.add_argument("--seed", type=int, default=1, help="the tree's random seed (default 1)")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help=f"which to run (default all: {','.join(TOOLS)})")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--profile-dir", help="write a cProfile of each Client Hub run here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        hub_child(json.loads(args.child))
        return

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The trees lie in temporary folders and the WebDAV peer listens on loopback: the
    # hub's account policy allows both, for this process and the runs it starts.
    os.environ.setdefault("CLIENTHUB_SERVER_ROOTS", tempfile.gettempdir())
    os.environ.setdefault("CLIENTHUB_OUTBOUND_ALLOW", "127.0.0.1")
    sys.path.insert(0, str(ROOT))
    byte_compile()
    items = 10_000 if args.quick else args.items
    clients = args.clients or (100 if args.quick else 400)
    tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    unknown = tools - set(TOOLS)
    if unknown:
        ap.error(f"unknown tools {sorted(unknown)}; choose from {','.join(TOOLS)}")
    missing = []
    if "find" in tools and (shutil.which("find") is None or b"GNU" not in subprocess.run(
            ["find", "--version"], capture_output=True).stdout):
        missing.append("find")
    if "rclone" in tools and shutil.which("rclone") is None:
        missing.append("rclone")
    for tool in missing:
        print(f"!! {tool} is not installed: skipped. Install it with: {INSTALL_HINTS[tool]}")
    tools -= set(missing)
    if args.profile_dir:
        Path(args.profile_dir).mkdir(parents=True, exist_ok=True)

    def prof(what: str) -> str | None:
        return str(Path(args.profile_dir) / f"hub-{what}.prof") if args.profile_dir else None

    rows: list[Row] = []
    notes: list[str] = []
    targets: list[tuple[str, str, str, str]] = []
    change: Change | None = None
    want_webdav = bool(tools & {"hub-webdav", "hub-etags", "rclone"})
    with tree_home(want_webdav) as (root, peer), \
            tempfile.TemporaryDirectory(prefix="bench-drive-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        tree = generate(root, items, clients, args.seed)
        print(f"tree: {tree.items:,} items ({tree.files:,} files, {tree.folders:,} folders, "
              f"{tree.size / 1e6:.1f} MB) under {len(tree.clients)} client folders, "
              f"written in {time.perf_counter() - start:.1f}s", flush=True)
        files, folders = tree.files, tree.folders

        def log(row: Row) -> Row:
            rows.append(row)
            extra = f" yielded {row.yielded:,}" if row.yielded is not None else ""
            extra += f", {row.requests:,} requests" if row.requests is not None else ""
            print(f"  {row.tool} {row.run}: {row.result.wall:.2f}s{extra}"
                  f"{'' if row.result.ok else ' FAILED ' + row.result.note}", flush=True)
            return row

        def hub_row(tool: str, run: str, key: str, spec: dict[str, Any], peer_key: str,
                    n: int) -> tuple[Row, dict[str, Any]]:
            result, info = run_hub(spec, files, folders, len(tree.clients), args.timeout)
            requests = sum((info.get("requests") or {}).values()) if "dav" in key else None
            counts = (info.get("yielded") or {}) if info else {}
            # Entries the yielded listings name (and any single entries besides).
            yielded = (sum(v for k, v in counts.items() if k != "listing")
                       if info else None)
            detail = f"yielded: {_breakdown(info)}" if info and yielded else ""
            return log(Row(tool, run, n, result, yielded, requests, peer_key, key,
                           detail)), info

        # -- the peers, then Client Hub, on the tree as generated
        if "find" in tools:
            log(Row("find -printf", "1st", items, run_find(root, args.timeout), key="find1"))
            log(Row("find -printf", "again (warm)", items, run_find(root, args.timeout),
                    key="find"))
        if "python-walk" in tools:
            log(Row("Python os.scandir walk (floor)", "warm", items,
                    run_python_walk(root, items, args.timeout), peer="find", key="pywalk"))
        hub: dict[str, tuple[str, int]] = {}
        infos: dict[str, dict[str, Any]] = {}
        if "hub-local" in tools:
            hub["local"] = hub_setup(work / "local.sqlite3", tree, "local",
                                     {"path": str(root)}, None)
            spec = {"db": hub["local"][0], "account": hub["local"][1]}
            for run, key in (("initial", "local0"), ("no change", "local1")):
                _, infos[key] = hub_row("Client Hub · local", run, key,
                                        {**spec, "profile": prof(key)}, "find", items)
        rclone = None
        if peer is not None and "rclone" in tools:
            rclone = make_rclone(peer, work)
            log(Row("rclone lsjson -R · wsgidav", "1st", items, rclone.run(items, args.timeout),
                    key="rclone"))
        if peer is not None and "hub-webdav" in tools:
            hub["webdav"] = hub_setup(work / "webdav.sqlite3", tree, "webdav",
                                      {"url": peer.url, "username": peer.username, "root": "/"},
                                      peer.password)
            spec = {"db": hub["webdav"][0], "account": hub["webdav"][1]}
            for run, key in (("initial", "dav0"), ("no change", "dav1")):
                _, infos[key] = hub_row("Client Hub · wsgidav", run, key,
                                        {**spec, "profile": prof(key)}, "rclone", items)
        etags_before: dict[str, str] = {}
        touched = 0
        if peer is not None and "hub-etags" in tools:
            etags_before = folder_etags(root)
            with etag_server(root, peer.username, peer.password) as tagged:
                hub["etags"] = hub_setup(work / "etags.sqlite3", tree, "webdav",
                                         {"url": tagged.url, "username": tagged.username,
                                          "root": "/"}, tagged.password)
                spec = {"db": hub["etags"][0], "account": hub["etags"][1], "trust": True}
                for run, key in (("initial", "davtag0"), ("no change", "davtag1")):
                    _, infos[key] = hub_row("Client Hub · wsgidav + folder ETags", run, key,
                                            {**spec, "profile": prof(key)}, "rclone", items)

        # -- 1% of the items change; Client Hub rescans, the peers walk again
        change = change_one_percent(root, items, args.seed)
        print(f"1% change: {change.describe(items)}", flush=True)
        files += change.added - change.deleted
        folders += change.new_folders
        after = files + folders
        if "find" in tools:
            log(Row("find -printf", "after 1% change", after, run_find(root, args.timeout),
                    key="find2"))
        if "local" in hub:
            spec = {"db": hub["local"][0], "account": hub["local"][1], "profile": prof("local2")}
            _, infos["local2"] = hub_row("Client Hub · local", "1% changed", "local2", spec,
                                         "find2", after)
        if rclone is not None:
            log(Row("rclone lsjson -R · wsgidav", "after 1% change", after,
                    rclone.run(after, args.timeout), key="rclone2"))
        if "webdav" in hub:
            spec = {"db": hub["webdav"][0], "account": hub["webdav"][1], "profile": prof("dav2")}
            _, infos["dav2"] = hub_row("Client Hub · wsgidav", "1% changed", "dav2",
                                       spec, "rclone2", after)
        if "etags" in hub:
            etags_after = folder_etags(root)
            touched = sum(1 for path, tag in etags_after.items()
                          if etags_before.get(path) != tag)
            # Nextcloud would have updated the ETags as the files changed; this server
            # computes them at start, so it is started anew on the changed tree.
            with etag_server(root, peer.username, peer.password) as tagged:
                spec = {"db": hub["etags"][0], "account": hub["etags"][1], "trust": True,
                        "url": tagged.url, "profile": prof("davtag2")}
                _, infos["davtag2"] = hub_row("Client Hub · wsgidav + folder ETags",
                                                "1% changed", "davtag2", spec, "rclone2", after)

    # -- notes and targets
    by_key = {r.key: r for r in rows if r.key}

    def rate(key: str, inproc: bool = False) -> float | None:
        row = by_key.get(key)
        if row is None or not row.result.ok:
            return None
        took = row.result.inproc if inproc else row.result.wall
        return row.items / took if took else None

    hub_rate, find_rate = rate("local0"), rate("find")
    check = "local initial index items/s / find -printf (warm) items/s"
    if hub_rate and find_rate:
        ratio = hub_rate / find_rate
        targets.append((check + ", process wall", f"{ratio:.3f}x",
                        f">= {TARGET_LOCAL_VS_FIND:.2f}x", _verdict(ratio >= TARGET_LOCAL_VS_FIND)))
        inproc = rate("local0", inproc=True)
        if inproc:
            ratio = inproc / find_rate
            targets.append((check + ", Client Hub in-process", f"{ratio:.3f}x",
                            f">= {TARGET_LOCAL_VS_FIND:.2f}x",
                            _verdict(ratio >= TARGET_LOCAL_VS_FIND)))
    else:
        targets.append((check, "n/a", f">= {TARGET_LOCAL_VS_FIND:.2f}x", "n/a"))

    dav1, dav2 = by_key.get("dav1"), by_key.get("dav2")
    if dav1 is not None and dav1.requests is not None:
        after_change = ""
        if dav2 is not None and dav2.requests:
            after_change = (f" After the 1% change it again listed every folder "
                            f"({dav2.requests:,} requests) and yielded the children and "
                            f"listing markers of the changed folders ({dav2.yielded or 0:,} "
                            "items).")
        notes.append(
            "WebDAV, wsgidav: wsgidav gives folders no ETag (DAV:getetag is optional on "
            "collections in RFC 4918, and wsgidav leaves it out), so nothing the server says "
            "shows that a subtree is unchanged. A no-change rescan therefore lists every "
            f"folder: {dav1.requests:,} PROPFIND Depth-1 requests for {tree.folders + 1:,} "
            f"folders (the root included), the server stat()ing and describing all "
            f"{items:,} items again, {dav1.result.wall:.1f}s in all. What the cursor saves is "
            "everything after the listing: a folder whose children digest (names, ETags, "
            "sizes, mtimes) is the cursor's yields nothing - this rescan yielded "
            f"{dav1.yielded or 0:,} items." + after_change)
        targets.append(("no-change WebDAV rescan, wsgidav (no folder ETags)",
                        f"{dav1.requests:,} PROPFINDs = every folder",
                        "requests only where something changed below, or the cost "
                        "explained (note)", "[yellow]EXPLAINED[/] (no signal; see note)"))
    tag1, tag2 = by_key.get("davtag1"), by_key.get("davtag2")
    if tag1 is not None and tag1.requests is not None:
        targets.append(("no-change WebDAV rescan, folder ETags (Nextcloud-like)",
                        f"{tag1.requests:,} PROPFIND", "<= 1 (the root's listing)",
                        _verdict(tag1.result.ok and tag1.requests <= 1)))
    if tag2 is not None and tag2.requests is not None:
        targets.append(("1%-changed WebDAV rescan, folder ETags (Nextcloud-like)",
                        f"{tag2.requests:,} PROPFINDs; {touched:,} folders changed below",
                        f"<= {touched:,} (folders whose ETag changed)",
                        _verdict(tag2.result.ok and tag2.requests <= touched)))
        notes.append(
            "WebDAV, folder ETags: the same wsgidav with a provider that gives each folder "
            "an ETag that changes whenever anything below it does (as Nextcloud and ownCloud "
            "do), the connector with trust_folder_etags=True. A folder whose ETag is the one "
            "in the cursor is not listed at all, so a no-change rescan is one request for "
            f"the root, and after the 1% change it listed {tag2.requests:,} folders where "
            f"{touched:,} folders had an ETag that changed (new and renamed folders and every "
            "ancestor of a change). Here the ETags are computed when the server starts, so "
            "it is restarted after the change; Nextcloud updates them as the files change.")
    if "rclone" in by_key:
        notes.append("rclone lsjson -R lists with --checkers 8 requests in flight, but its "
                     "WebDAV backend spaces requests at least 10 ms apart (its pacer), so it "
                     "lists at most about 100 folders a second; Client Hub's WebDAV walk is "
                     "one request at a time, unpaced. wsgidav (Python, one process) runs on "
                     "the same cores as the client being measured.")
    print()
    print_report(rows, tree, change, notes, targets)
    for tool in missing:
        print(f"!! {tool} was not measured: install it with: {INSTALL_HINTS[tool]}")


if __name__ == "__main__":
    main()
