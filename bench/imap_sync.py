"""IMAP initial and no-change sync: Client Hub beside mbsync, mbsync + notmuch, offlineimap.

Run by hand (it prints figures, it asserts nothing)::

    .venv/bin/python -m bench.imap_sync                 # N = 10000 and 100000
    .venv/bin/python -m bench.imap_sync --sizes 10000,50000
    .venv/bin/python -m bench.imap_sync --quick         # N = 2000, a smoke run

One throw-away Dovecot (tests/peers/dovecot.py) serves every mailbox. For each size N a
user of its own gets N small messages in INBOX, written straight into its Maildir and
indexed with ``doveadm force-resync`` (MULTIAPPEND is measured too with ``--seed imap``).
Every tool then syncs the same mailbox twice: once from nothing, once with nothing
changed. Each sync runs in a child process of its own; wall time is the child's whole
life (start-up included, for every tool alike) and peak RSS is the child's own VmHWM
(see :func:`measured`). Client Hub syncs into a fresh SQLite file; its in-process sync time is
shown too.

A Client Hub sync has two stages, both in the one child: the fetch stores every message's
bytes and the cursor (what mbsync does: the mail is then safe in the hub, the server
connection closed), and filing parses, threads and matches it into the client timelines.
"fetched" is the child's wall time up to the end of the fetch (the rest of its life
subtracted, so start-up counts and so does the exit); "timeline" is its whole wall time.
mbsync + ``notmuch new`` (fetch, then parse, thread and index) is the peer that does both
stages; mbsync alone is the peer for the fetch.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Targets for Client Hub, printed beside the figures.
TARGET_INITIAL_VS_MBSYNC = 2.0
TARGET_RESYNC_GROWTH = 1.2
TARGET_RSS_MB = 250.0
NOTMUCH_ROW = "mbsync + notmuch new"

INSTALL_HINTS = {
    "mbsync": "apt-get install isync",
    "notmuch": "apt-get install notmuch",
    "offlineimap": "apt-get install offlineimap3",
}

# --------------------------------------------------------------------------- messages

FIRST = ["Jari", "Mikko", "Anna", "Liisa", "Pekka", "Sanna", "Timo", "Kaisa", "Heikki",
         "Päivi", "Jukka", "Tiina", "Mäkinen", "Öhman", "Veikko", "Aino", "Eero", "Helmi"]
LAST = ["Mäkinen", "Virtanen", "Korhonen", "Nieminen", "Hämäläinen", "Laine", "Heikkinen",
        "Koskinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen", "Kärkkäinen", "Ström"]
COMPANIES = ["rakennusmakinen", "kuljetusvirtanen", "kahvilahelmi", "tilitoimistolaine",
             "sahakoskinen", "autokorjaamojarvinen", "leipomoaino", "it-palvelusalminen",
             "kukkakauppaliisa", "putkiheikkinen", "maalausstrom", "metsanieminen",
             "lvi-lehtonen", "siivouspalvelutiina", "kampaamosanna", "kirjapainoeero"]
SUBJECTS = ["Kuitit marraskuulta", "ALV-ilmoitus {m}/2026", "Palkkalaskelmat, {m}. jakso",
            "Tilinpäätös 2025 – kysymyksiä", "Re: Verohallinnon kirje", "Lasku nro {n}",
            "Fwd: Pankin tiliote", "Ennakkoveron muutoshakemus", "Kokousmuistio {d}.{m}.",
            "Re: Re: Työntekijän lomapäivät", "Kilometrikorvaukset", "Yhtiökokouksen pöytäkirja",
            "Osingonjako – päätös", "Re: Kassavirtalaskelma", "Sopimusluonnos liitteenä"]
PHRASES = ["Hei,", "Liitteenä pyytämänne kuitit ja tositteet.",
           "Voisitteko tarkistaa, onko arvonlisävero laskettu oikein?",
           "Palkanmaksupäivä siirtyy ensi kuussa perjantaille.",
           "Kiitos nopeasta vastauksesta, tämä selventää asiaa.",
           "Verottaja pyytää lisäselvitystä kahden viikon kuluessa.",
           "Tilinpäätöksen luonnos on nyt valmis kommentoitavaksi.",
           "Pankin tiliotteet löytyvät jaetusta kansiosta.",
           "Muistathan, että ennakkoveron eräpäivä on kuun 23. päivä.",
           "Yrityksen kassatilanne on parantunut edellisestä neljänneksestä.",
           "Olisiko teillä aikaa palaverille ensi viikon tiistaina?",
           "Työntekijä Mäkinen jää vuorotteluvapaalle maaliskuussa.",
           "Kuittien skannaus onnistuu myös puhelimen sovelluksella.",
           "Lähetän vielä erikseen allekirjoitetun sopimuksen.",
           "Terveisin,", "Ystävällisin terveisin,"]
FIRM = "tilitoimisto.example"
BASE = datetime(2026, 11, 20, 12, tzinfo=UTC)


def client_address(i: int) -> tuple[str, str]:
    name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
    local = name.split()[0].lower().replace("ä", "a").replace("ö", "o")
    return name, f"{local}@{COMPANIES[i % len(COMPANIES)]}.fi"


def make_message(i: int, rng: random.Random, tag: str) -> bytes:
    """A small realistic message of about 300 B to 2 KB; ``i`` makes its Message-ID unique."""
    sender_name, sender = client_address(rng.randrange(400))
    staff = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    staff_addr = f"{staff.split()[0].lower().replace('ä', 'a').replace('ö', 'o')}@{FIRM}"
    if rng.random() < 0.3:  # the firm writes to the client
        sender_name, sender, staff, staff_addr = staff, staff_addr, sender_name, sender
    subject = rng.choice(SUBJECTS).format(m=rng.randint(1, 12), d=rng.randint(1, 28),
                                          n=rng.randint(1000, 99999))
    date = BASE - timedelta(minutes=i * 7 + rng.randint(0, 6))
    lines = [rng.choice(PHRASES[1:-2]) for _ in range(rng.randint(1, 22))]
    body = "\n".join([PHRASES[0], "", *lines, "", rng.choice(PHRASES[-2:]), sender_name, ""])
    headers = [
        f"From: {sender_name} <{sender}>",
        f"To: {staff} <{staff_addr}>",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{tag}.{i}.{rng.getrandbits(32):08x}@{sender.split('@')[1]}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if rng.random() < 0.25:
        headers.append(f"Cc: {rng.choice(FIRST)} <kirjanpito@{FIRM}>")
    if subject.startswith("Re:") and i > 0:
        parent = f"<{tag}.{rng.randrange(i)}.thread@{FIRM}>"
        headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
    text = "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")
    return text.encode("utf-8")


def messages(n: int, tag: str, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [make_message(i, rng, tag) for i in range(n)]


# --------------------------------------------------------------------------- seeding

def seed_maildir(server, user, raws: list[bytes]) -> None:
    """Writes the messages as Maildir files (cur/, no flags) and lets Dovecot index them."""
    maildir = server.root / "mail" / user.name / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    cur = maildir / "cur"
    for i, raw in enumerate(raws):
        (cur / f"{now}.M{i}P{os.getpid()}.bench,S={len(raw)}:2,").write_bytes(raw)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "nobody:" + _group_of("nobody"),
                        str(server.root / "mail" / user.name)], check=True)
    server.doveadm("force-resync", "-u", user.name, "INBOX")


def seed_imap(user, raws: list[bytes], chunk: int = 2000) -> None:
    for start in range(0, len(raws), chunk):
        user.append("INBOX", raws[start:start + chunk])


def _group_of(name: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(name).pw_gid).gr_name


def warm(server, user, n: int) -> None:
    """Checks the count and reads every message once through Dovecot, so the page cache
    and Dovecot's index are equally warm for whichever tool goes first."""
    count = int(server.doveadm("mailbox", "status", "-u", user.name, "messages",
                               "INBOX").split("=")[1])
    if count != n:
        raise RuntimeError(f"seeded {count} messages, wanted {n}")
    subprocess.run(["/usr/bin/doveadm", "-c", str(server.config), "fetch", "-u", user.name,
                    "uid size.physical text", "mailbox", "INBOX"],
                   stdout=subprocess.DEVNULL, check=True)


# --------------------------------------------------------------------------- measuring

@dataclass
class Run:
    wall: float
    rss_mb: float
    ok: bool
    note: str = ""
    inproc: float | None = None
    #: Client Hub: the wall time until its fetch was done (filing follows), and the
    #: in-process part of it.
    fetched: float | None = None
    fetch_inproc: float | None = None
    cpu: float | None = None


def measured(argv: list[str], *, timeout: float, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> tuple[Run, str]:
    """Runs one child to its end; wall time and its own peak RSS (wait4)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        deadline = start + timeout
        status, hwm_kb = 0, 0
        while True:
            # ru_maxrss from wait4 is no use here: Linux carries the forking parent's
            # high-water mark across exec. VmHWM of the child's own address space is
            # what it used; polled, so growth in its last few ms may be missed. A child
            # with worker processes (Client Hub's parse workers) is counted with them:
            # the largest sum seen of the tree's proportional sets (PSS: a page shared by
            # the workers counts once in all, not once in each).
            hwm_kb = max(hwm_kb, _vm_hwm_kb(proc.pid), _tree_pss_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    ok = proc.returncode == 0
    note = "" if ok else f"exit {proc.returncode}" + (" (timeout)" if wall >= timeout else "")
    for line in text.splitlines()[-1:]:
        if line.startswith("{") and '"vm_hwm_kb"' in line:  # a child that reports its own
            hwm_kb = max(hwm_kb, json.loads(line)["vm_hwm_kb"])
    # CPU time of the child and of the processes it waited for (parse workers).
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, hwm_kb / 1024, ok, note, cpu=cpu), text


def byte_compile() -> None:
    """Compiles the project's modules as ``pip install .`` does when it installs them, so
    that every Client Hub child loads bytecode instead of compiling some 18,000 lines
    afresh. An editable install run with ``PYTHONDONTWRITEBYTECODE`` (as this machine's
    shells have) never writes it, and each child would pay about 0.4 s that no installed
    Client Hub pays."""
    import compileall

    for package in ("hub", "connectors", "workers", "api", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and all its descendants now."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def count_maildir(path: Path) -> int:
    return sum(len(os.listdir(d)) for d in path.rglob("*") if d.name in ("cur", "new"))


# Client Hub ------------------------------------------------------------------------

def hub_setup(workdir: Path, user) -> tuple[str, int]:
    from hub import schema
    from hub.access.policy import Principal
    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account
    from hub.clients.models import Client, Contact, ContactEmail
    from hub.db import make_engine, make_session_factory
    from hub.staff.models import User

    url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    engine = make_engine(url)
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        owner = User(email="mikko@" + FIRM, name="Mikko")
        session.add(owner)
        session.flush()
        # A firm's client register: some of the senders are known contacts.
        for i in range(60):
            name, addr = client_address(i * 7)
            session.add(Client(name=f"Asiakas {i} Oy", name_key=f"asiakas {i} oy",
                               customer_number=200000 + i, status="active",
                               contacts=[Contact(name=name, emails=[ContactEmail(email=addr)])]))
        account = create_account(session, Principal(owner.id), AccountIn(
            kind="imap", name="Mikko", secret=user.password,
            settings={"host": "127.0.0.1", "port": user.server.port, "security": "plain",
                      "username": user.name, "batch_size": 500}))
        session.commit()
        account_id = account.id
    engine.dispose()
    return url, account_id


def hub_child(url: str, account_id: int, profile: str | None) -> None:
    """The child side: one sync_account, then a JSON line with what it did."""
    import importlib

    from sqlalchemy import func, select

    from hub.db import make_engine, make_session_factory
    from hub.mail.models import MailMessage
    from hub.process import settle
    from workers.sync import sync_account

    # What a running worker has loaded before a sync of this kind (a one-off process
    # loads it during its first sync): the in-process times are those of such a worker.
    for module in ("connectors.imap", "connectors.mail.parse", "hub.mail.filing",
                   "hub.mail.ingest"):
        importlib.import_module(module)
    settle()  # as `clienthub sync` and a worker process do

    engine = make_engine(url)
    factory = make_session_factory(engine)
    start = time.perf_counter()
    began = datetime.now(UTC)
    if profile:
        import cProfile

        prof = cProfile.Profile()
        runs = prof.runcall(sync_account, factory, account_id)
        prof.dump_stats(profile)
    else:
        runs = sync_account(factory, account_id)
    elapsed = time.perf_counter() - start
    filing = next((r for r in runs if r.stream == "filing"), None)
    with factory() as session:
        count = session.scalar(select(func.count()).select_from(MailMessage))
    fetch_inproc = (filing.started_at - began).total_seconds() if filing else elapsed
    after_fetch = (datetime.now(UTC) - filing.started_at).total_seconds() if filing else 0.0
    print(json.dumps({"elapsed": elapsed, "messages": count, "vm_hwm_kb": _vm_hwm_kb(os.getpid()),
                      "fetch_inproc": fetch_inproc, "after_fetch": after_fetch,
                      "runs": [[r.stream, r.status, r.message, r.items] for r in runs]}))


def run_hub(url: str, account_id: int, n: int, timeout: float,
            profile: str | None = None) -> Run:
    argv = [sys.executable, "-m", "bench.imap_sync", "--child", url, str(account_id)]
    if profile:
        argv += ["--child-profile", profile]
    run, text = measured(argv, timeout=timeout, cwd=ROOT)
    try:
        info = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run.ok, run.note = False, (run.note or "no result") + ": " + text[-300:]
        return run
    run.inproc = info["elapsed"]
    run.fetched = max(0.0, run.wall - info["after_fetch"])
    run.fetch_inproc = info["fetch_inproc"]
    bad = [r for r in info["runs"] if r[1] not in ("ok", "resynced")]
    if bad or info["messages"] != n:
        run.ok = False
        run.note = f"{info['messages']} of {n} messages; {bad}"
    return run


# mbsync ----------------------------------------------------------------------------

def mbsync_config(workdir: Path, user, fsync: bool) -> Path:
    local = workdir / "maildir"
    local.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "mbsyncrc"
    cfg.write_text(f"""\
{'' if fsync else 'FSync no'}

IMAPAccount bench
Host 127.0.0.1
Port {user.server.port}
User {user.name}
Pass {user.password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""", encoding="utf-8")
    return cfg


def run_mbsync(workdir: Path, user, n: int, fsync: bool, timeout: float) -> tuple[Run, Run]:
    cfg = mbsync_config(workdir, user, fsync)
    runs = []
    for _ in range(2):
        os.sync()
        run, text = measured(["mbsync", "-q", "-c", str(cfg), "bench"], timeout=timeout)
        got = count_maildir(workdir / "maildir")
        if run.ok and got != n:
            run.ok, run.note = False, f"{got} of {n} messages"
        if not run.ok:
            run.note += " " + text[-300:].strip()
        runs.append(run)
    return runs[0], runs[1]


# notmuch ---------------------------------------------------------------------------

def run_notmuch(workdir: Path, maildir: Path, n: int, timeout: float) -> tuple[Run, Run]:
    """``notmuch new`` over the Maildir mbsync wrote: parse, thread and index every
    message (Xapian), then once more with nothing new."""
    cfg = workdir / "notmuch-config"
    cfg.write_text(f"""\
[database]
path={maildir}
[user]
name=Bench
primary_email=bench@{FIRM}
[new]
tags=inbox;
ignore=.mbsyncstate;.uidvalidity;.mbsyncstate.journal;.mbsyncstate.new
[maildir]
synchronize_flags=false
""", encoding="utf-8")
    env = {**os.environ, "NOTMUCH_CONFIG": str(cfg)}
    runs = []
    for _ in range(2):
        os.sync()
        run, text = measured(["notmuch", "new", "--quiet"], timeout=timeout, env=env)
        count = subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True,
                               text=True, check=False).stdout.strip()
        if run.ok and count != str(n):
            run.ok, run.note = False, f"{count} of {n} messages indexed"
        if not run.ok:
            run.note += " " + text[-300:].strip()
        runs.append(run)
    return runs[0], runs[1]


def after(first: Run, then: Run) -> Run:
    """One tool run after another, as one."""
    return Run(first.wall + then.wall, max(first.rss_mb, then.rss_mb), first.ok and then.ok,
               "; ".join(x for x in (first.note, then.note) if x))


# offlineimap -----------------------------------------------------------------------

def offlineimap_config(workdir: Path, user) -> Path:
    (workdir / "mail").mkdir(parents=True, exist_ok=True)
    cfg = workdir / "offlineimaprc"
    cfg.write_text(f"""\
[general]
accounts = bench
metadata = {workdir}/meta
maxsyncaccounts = 1
ui = quiet

[Account bench]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {workdir}/mail

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {user.server.port}
remoteuser = {user.name}
remotepass = {user.password}
ssl = no
starttls = no
readonly = True
folderfilter = lambda folder: folder == 'INBOX'
""", encoding="utf-8")
    return cfg


def run_offlineimap(workdir: Path, user, n: int, timeout: float) -> tuple[Run, Run]:
    cfg = offlineimap_config(workdir, user)
    runs = []
    for _ in range(2):
        run, text = measured([shutil.which("offlineimap") or "offlineimap", "-c", str(cfg),
                              "-o", "-u", "quiet"], timeout=timeout)
        got = count_maildir(workdir / "mail")
        if run.ok and got != n:
            run.ok, run.note = False, f"{got} of {n} messages"
        if not run.ok or "ERROR" in text:
            run.note += " " + text[-300:].strip()
        runs.append(run)
    return runs[0], runs[1]


# --------------------------------------------------------------------------- report

@dataclass
class Row:
    tool: str
    n: int
    initial: Run
    resync: Run
    extra: dict[str, str] = field(default_factory=dict)


FETCHERS = ("mbsync (FSync no)", "mbsync (fsync)", "offlineimap")


def _s(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else ""


def print_table(rows: list[Row], seeding: dict[int, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="IMAP sync, one INBOX on a local Dovecot (plain IMAP, 127.0.0.1); "
                        "seconds, best of the rounds")
    for col in ("tool", "N", "fetched", "msgs/s", "in worker", "timeline", "in worker",
                "msgs/s", "no-change", "in worker", "CPU s", "peak MB", "note"):
        table.add_column(col, justify="left" if col in ("tool", "note") else "right")

    def rate(n: int, seconds: float | None, ok: bool) -> str:
        return f"{n / seconds:,.0f}" if ok and seconds else ""

    for r in rows:
        hub = r.tool == "Client Hub"
        rss = max(r.initial.rss_mb, r.resync.rss_mb)
        fetched = r.initial.fetched if hub else (r.initial.wall if r.tool in FETCHERS else None)
        timeline = r.initial.wall if r.tool in ("Client Hub", NOTMUCH_ROW) else None
        table.add_row(
            r.tool, f"{r.n:,}", _s(fetched), rate(r.n, fetched, r.initial.ok),
            _s(r.initial.fetch_inproc), _s(timeline), _s(r.initial.inproc),
            rate(r.n, r.initial.inproc if hub else timeline, r.initial.ok),
            _s(r.resync.wall), _s(r.resync.inproc), _s(r.initial.cpu), f"{rss:.0f}",
            "; ".join(x for x in (r.initial.note, r.resync.note) if x)[:120])
    console = Console(width=190)
    console.print(table)
    console.print("fetched: the mail stored in the hub and the connection closed (mbsync's "
                  "whole job); timeline: parsed, threaded and matched into client timelines "
                  "too. Process figures include start-up and exit; 'in worker' is the sync "
                  "alone, in a process that has its code loaded, as a sync worker or "
                  "'clienthub serve' runs it. CPU: of the first sync, with the processes it "
                  "waited for; peak: resident (the tree's proportional sets, workers included)")
    for n, how in seeding.items():
        console.print(f"seeding N={n:,}: {how}")

    hub_rows = {r.n: r for r in rows if r.tool == "Client Hub"}
    fast = {r.n: r for r in rows if r.tool == "mbsync (FSync no)"}
    indexed = {r.n: r for r in rows if r.tool == NOTMUCH_ROW}
    targets = Table(title="Client Hub against its targets (and beside the peers that also "
                          "index)")
    for col in ("check", "figure", "target", "verdict"):
        targets.add_column(col)

    def verdict(ok: bool) -> str:
        return "[green]PASS[/]" if ok else "[red]MISS[/]"

    def ratio_row(label: str, ours: float | None, peer: Row | None, target: float | None
                  ) -> None:
        if ours is None or peer is None or not peer.initial.ok:
            targets.add_row(label, "n/a", "", "n/a")
            return
        ratio = ours / peer.initial.wall
        targets.add_row(label, f"{ratio:.2f}x",
                        f"<= {target:.1f}x" if target else "(no target)",
                        verdict(ratio <= target) if target else "")

    for n, r in sorted(hub_rows.items()):
        ok = r.initial.ok
        ratio_row(f"fetched, in worker / mbsync(FSync no), N={n:,}",
                  r.initial.fetch_inproc if ok else None, fast.get(n), TARGET_INITIAL_VS_MBSYNC)
        ratio_row(f"fetched, process / mbsync(FSync no), N={n:,}",
                  r.initial.fetched if ok else None, fast.get(n), TARGET_INITIAL_VS_MBSYNC)
        ratio_row(f"timeline, process / mbsync(FSync no) + notmuch new, N={n:,}",
                  r.initial.wall if ok else None, indexed.get(n), None)
        ratio_row(f"timeline, process / mbsync(FSync no), N={n:,}",
                  r.initial.wall if ok else None, fast.get(n), None)
    if len(hub_rows) >= 2:
        lo, hi = min(hub_rows), max(hub_rows)
        ratio = hub_rows[hi].resync.wall / hub_rows[lo].resync.wall
        targets.add_row(f"no-change resync N={hi:,} / N={lo:,} (process)",
                        f"{ratio:.2f}x", f"<= {TARGET_RESYNC_GROWTH:.1f}x",
                        verdict(ratio <= TARGET_RESYNC_GROWTH))
        if hub_rows[hi].resync.inproc and hub_rows[lo].resync.inproc:
            ratio = hub_rows[hi].resync.inproc / hub_rows[lo].resync.inproc
            targets.add_row(f"no-change resync N={hi:,} / N={lo:,} (in worker)",
                            f"{ratio:.2f}x", f"<= {TARGET_RESYNC_GROWTH:.1f}x",
                            verdict(ratio <= TARGET_RESYNC_GROWTH))
        if hi != 100_000:
            targets.add_row("(the target speaks of 100k / 10k)", "", "", "")
    if hub_rows:
        hi = max(hub_rows)
        rss = max(hub_rows[hi].initial.rss_mb, hub_rows[hi].resync.rss_mb)
        targets.add_row(f"peak memory at N={hi:,}", f"{rss:.0f} MB", f"< {TARGET_RSS_MB:.0f} MB",
                        verdict(rss < TARGET_RSS_MB))
    console.print(targets)


# --------------------------------------------------------------------------- main

def best(runs: list[Run]) -> Run:
    """The fastest of repeated runs, each figure on its own (this machine shares its
    cores, and a slow run says more about the neighbours than about the tool); a run
    that failed is shown as it failed."""
    bad = [r for r in runs if not r.ok]
    if bad:
        return bad[0]
    def least(values: list[float | None]) -> float | None:
        return min((v for v in values if v is not None), default=None)

    return Run(min(r.wall for r in runs), max(r.rss_mb for r in runs), True,
               "; ".join(dict.fromkeys(r.note for r in runs if r.note)),
               inproc=least([r.inproc for r in runs]), fetched=least([r.fetched for r in runs]),
               fetch_inproc=least([r.fetch_inproc for r in runs]),
               cpu=least([r.cpu for r in runs]))


def one_round(work: Path, user, n: int, tools: set[str], missing: list[str],
              args: argparse.Namespace, rep: int) -> Iterator[tuple[str, Run, Run]]:
    """Each tool once, from nothing and then with nothing changed, in a fresh directory;
    dirty pages are written out before every measured run, so no tool pays for the
    previous one's writes."""
    if "hub" in tools:
        (work / "hub").mkdir()
        url, account_id = hub_setup(work / "hub", user)
        prof = (lambda what: str(Path(args.profile_dir) / f"hub-{n}-{rep}-{what}.prof")
                ) if args.profile_dir else (lambda what: None)
        os.sync()
        first = run_hub(url, account_id, n, args.timeout, prof("initial"))
        os.sync()
        again = run_hub(url, account_id, n, args.timeout, prof("resync"))
        yield "Client Hub", first, again
    if "mbsync" not in missing:
        for fsync, name, key in ((False, "mbsync (FSync no)", "mbsync"),
                                 (True, "mbsync (fsync)", "mbsync-fsync")):
            if key not in tools:
                continue
            first, again = run_mbsync(work / key, user, n, fsync, args.timeout)
            yield name, first, again
            if key == "mbsync" and "notmuch" in tools and "notmuch" not in missing:
                index, reindex = run_notmuch(work / key, work / key / "maildir", n,
                                             args.timeout)
                yield NOTMUCH_ROW, after(first, index), after(again, reindex)
    if "offlineimap" not in missing and "offlineimap" in tools:
        first, again = run_offlineimap(work / "offlineimap", user, n, args.timeout)
        yield "offlineimap", first, again


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.imap_sync", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000",
                    help="comma-separated mailbox sizes (default 10000,100000)")
    ap.add_argument("--quick", action="store_true", help="N=2000 only, a smoke run")
    ap.add_argument("--seed", choices=("maildir", "imap"), default="maildir",
                    help="fill the mailbox by writing Maildir files (default) or MULTIAPPEND")
    ap.add_argument("--tools", default="hub,mbsync,mbsync-fsync,notmuch,offlineimap",
                    help="which to run (default all: hub,mbsync,mbsync-fsync,notmuch,"
                         "offlineimap; notmuch indexes what mbsync (FSync no) fetched)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per sync run")
    ap.add_argument("--disk", action="store_true",
                    help="keep the mail store and every tool's files on disk (default: "
                         "tmpfs, /dev/shm, where a shared machine's disk stalls cannot "
                         "make one tool look slow)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of every tool; each figure is the best of them (default 3)")
    ap.add_argument("--profile-dir", help="write a cProfile of each Client Hub sync here")
    ap.add_argument("--child", nargs=2, metavar=("URL", "ACCOUNT"), help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        hub_child(args.child[0], int(args.child[1]), args.child_profile)
        return

    # A plain kill still stops Dovecot and removes the temp dirs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Dovecot listens on loopback, where the hub's accounts connect only when allowed.
    os.environ.setdefault("CLIENTHUB_OUTBOUND_ALLOW", "127.0.0.1")
    sys.path.insert(0, str(ROOT))
    from tests.peers.dovecot import dovecot_server

    byte_compile()

    if not args.disk and Path("/dev/shm").is_dir():
        tempfile.tempdir = os.environ["TMPDIR"] = tempfile.mkdtemp(prefix="bench-imap-",
                                                                   dir="/dev/shm")
        # Dovecot's unprivileged processes read below it.
        os.chmod(tempfile.tempdir, 0o755)  # noqa: S103
        print(f"files on tmpfs under {tempfile.tempdir} (--disk to use the disk)")
        atexit.register(shutil.rmtree, tempfile.tempdir, True)
    sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    tools = {t.strip() for t in args.tools.split(",")}
    missing = [t for t in ("mbsync", "notmuch", "offlineimap") if shutil.which(t) is None]
    for tool in missing:
        print(f"!! {tool} is not installed: skipped. Install it with: {INSTALL_HINTS[tool]}")
    if args.profile_dir:
        Path(args.profile_dir).mkdir(parents=True, exist_ok=True)

    rows: list[Row] = []
    seeding: dict[int, str] = {}
    with dovecot_server(condstore=True) as server:
        for n in sizes:
            user = server.add_user()
            tag = user.name
            start = time.perf_counter()
            raws = messages(n, tag)
            made = time.perf_counter() - start
            start = time.perf_counter()
            if args.seed == "maildir":
                seed_maildir(server, user, raws)
            else:
                seed_imap(user, raws)
            seeded = time.perf_counter() - start
            size = sum(len(r) for r in raws)
            del raws
            start = time.perf_counter()
            warm(server, user, n)
            seeding[n] = (f"{size / n:.0f} B/message avg, {size / 1e6:.1f} MB; generated in "
                          f"{made:.1f}s, {args.seed} seeding {seeded:.1f}s, Dovecot warm-up "
                          f"{time.perf_counter() - start:.1f}s")
            print(f"N={n:,}: {seeding[n]}", flush=True)

            found: dict[str, list[tuple[Run, Run]]] = {}
            for rep in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix=f"bench-imap-{n}-") as tmp:
                    for name, first, again in one_round(Path(tmp), user, n, tools, missing,
                                                        args, rep):
                        print(f"  [{rep + 1}/{args.repeat}] {name}: initial {first.wall:.2f}s"
                              + (f" (fetched {first.fetched:.2f}s)" if first.fetched else "")
                              + f", no-change {again.wall:.2f}s", flush=True)
                        found.setdefault(name, []).append((first, again))
            for name, runs in found.items():
                rows.append(Row(name, n, best([r for r, _ in runs]),
                                best([r for _, r in runs])))
            if n != sizes[-1]:  # figures so far, in case a larger size is cut short
                print_table(rows, seeding)
    print()
    print_table(rows, seeding)
    for tool in missing:
        print(f"!! {tool} was not measured: install it with: {INSTALL_HINTS[tool]}")


if __name__ == "__main__":
    main()
