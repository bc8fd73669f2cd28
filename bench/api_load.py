"""The API under load: timeline readers and note writers against ``clienthub serve``.

Run by hand (it prints figures, it asserts nothing)::

    .venv/bin/python -m bench.api_load                       # 10, 20, 50 clients, 30 s each
    .venv/bin/python -m bench.api_load --seconds 10 --databases sqlite --workers 2
    .venv/bin/python -m bench.api_load --checkout /tmp/before --save /tmp/before.json
    .venv/bin/python -m bench.api_load --compare /tmp/before.json

For each database (a SQLite file; a throw-away PostgreSQL cluster, tests/peers/postgres.py)
and each number of concurrent clients C, a fresh database is migrated and seeded by the
checkout's own code (C staff members, each responsible for a client with 30 timeline
entries), and ``clienthub serve`` runs as a child process of that checkout. Four clients
in five read their client's timeline page over and over, the fifth writes notes on its
client's timeline, each with its own ``Idempotency-Key``.

Two generators, for two questions:

- **throughput** (every C): ``wrk`` (apt-get install wrk), a C load generator, with
  ``bench/api_load.lua`` - one wrk for the readers' connections, one for the writers'.
  A Python client spends about a millisecond of CPU per request itself, on the same
  two cores as the server, so it cannot measure a server faster than a few hundred
  requests a second. Beside each C a **floor** row: a bare FastAPI endpoint returning
  50 small items, served by uvicorn the same way (the same workers), under the same
  load; clienthub's req/s over the floor's is the figure that survives a noisy machine.
- **correctness** (the largest C): this process, asyncio and httpx, one connection per
  simulated client; a note whose answer does not come (a timeout, a 5xx) is sent once
  more with the same key, as a careful client would. After the run the notes are counted
  in the database, by key: "lost" were answered 201 and are not there, "dup" are there
  more than once, "unacked" are there although their client never saw a success.

``--checkout DIR`` serves from another checkout (``git worktree add /tmp/before HEAD``
for the code before a change); ``--save`` writes the figures as JSON and ``--compare``
prints a saved run's table beside this one's. ``--workers N`` serves with N processes
(``clienthub serve --workers N``; a checkout without the option is served with one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent

#: Targets, printed beside the figures.
TARGET_RPS = 500.0
TARGET_READ_P99_MS_AT_20 = 50.0
READ_SHARE = 0.8
REQUEST_TIMEOUT = 30.0
LUA = Path(__file__).with_suffix(".lua")

# Run in the served checkout's interpreter, with its own models: migrate and seed. Rows
# are built directly, tokens too: the services' signatures differ between checkouts.
SEED = r"""
import json, secrets, sys
from datetime import UTC, datetime, timedelta
from hub import schema
from hub.db import make_engine, make_session_factory
from hub.clients.models import Client, Responsibility
from hub.staff.models import ApiToken, User
from hub.staff.service import TOKEN_PREFIX, hash_token
from hub.timeline.models import TimelineEntry

url, users, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
engine = make_engine(url)
schema.upgrade(engine)
people = []
with make_session_factory(engine)() as s:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(users):
        user = User(email=f"kuorma{n}@firm.test", name=f"Kuorma {n}")
        client = Client(name=f"Kuormitus {n} Oy", name_key=f"kuormitus {n} oy",
                        customer_number=1000 + n)
        s.add_all([user, client])
        s.flush()
        s.add(Responsibility(user_id=user.id, client_id=client.id, role="asiakasvastaava"))
        for i in range(30):
            s.add(TimelineEntry(client_id=client.id, kind="note", title=f"Muistio {i}",
                                summary="Tiliotteet ja kuitit", body="Tiliotteet ja kuitit",
                                occurred_at=base + timedelta(hours=i), source_ref=f"s{n}-{i}"))
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        s.add(ApiToken(user_id=user.id, name="", prefix=token[:10], token_hash=hash_token(token)))
        people.append({"token": token, "client": client.id})
    s.commit()
engine.dispose()
json.dump(people, open(out, "w"))
"""


@dataclass
class Run:
    database: str
    clients: int
    seconds: float
    generator: str = "python"
    requests: int = 0
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    error_samples: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    unacked: int = 0
    #: wrk's runs: its own percentiles (ms), read and write.
    wrk: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --------------------------------------------------------------------------- databases


@contextmanager
def databases(kinds: list[str], where: Path) -> Iterator[dict[str, object]]:
    """A factory of fresh database URLs per kind."""
    stack: dict[str, object] = {}
    if "postgresql" in kinds:
        sys.path.insert(0, str(ROOT))
        from tests.peers.postgres import postgres_server

        with postgres_server() as base:
            stack["postgresql"] = base
            yield stack
        return
    yield stack


def fresh_url(kind: str, bases: dict[str, object], where: Path, n: int) -> str:
    if kind == "sqlite":
        return f"sqlite:///{where / f'load-{n}.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = str(bases["postgresql"])
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS load_{n} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE load_{n}"))
    admin.dispose()
    return make_url(base).set(database=f"load_{n}").render_as_string(hide_password=False)


def count_notes(url: str) -> dict[str, int]:
    """Stored benchmark notes per key."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT title, count(*) FROM timeline_entries "
                                 "WHERE title LIKE 'kuorma %' GROUP BY title")).all()
    engine.dispose()
    return {str(title).removeprefix("kuorma "): int(n) for title, n in rows}


# --------------------------------------------------------------------------- the server


def child_env(checkout: Path, url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"PYTHONPATH": str(checkout), "CLIENTHUB_DATABASE_URL": url,
            "CLIENTHUB_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    return env


def serve_command(checkout: Path, port: int, workers: int,
                  max_requests: int | None = None) -> list[str]:
    """``clienthub serve`` with ``workers`` processes and no access log (the floor writes
    none either), as far as the checkout has those options."""
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port",
               str(port)]
    help_text = subprocess.run([*command[:4], "--help"], cwd=checkout, capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(checkout),
                                               "COLUMNS": "200"}).stdout
    if "--workers" in help_text:
        command += ["--workers", str(workers)]
    if "--no-access-log" in help_text:
        command.append("--no-access-log")
    if max_requests and "--max-requests" in help_text:
        command += ["--max-requests", str(max_requests)]
    return command


@contextmanager
def served(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """``command`` (given ``{port}`` to listen on) running until the block ends."""
    from tests.peers.postgres import free_port, stop_process

    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([part.format(port=port) for part in command], cwd=cwd,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log}")
            time.sleep(0.1)
        time.sleep(0.5 if "--workers" in command else 0)  # every worker listening
        try:
            yield base
        finally:
            stop_process(proc)


# The floor: what FastAPI and uvicorn cost without Client Hub (no database, no access, no
# audit): a sync endpoint - run in the thread pool like clienthub's - returning 50 items.

FLOOR_ITEMS = [{"id": n, "kind": "note", "title": f"Muistio {n}", "level": "full"}
               for n in range(50)]


def floor_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/floor")
    def floor() -> list[dict[str, Any]]:
        return FLOOR_ITEMS

    return app


def serve_floor(port: int, workers: int) -> None:
    """The floor app, served as ``clienthub serve`` serves (api.app.server_config's
    options; uvicorn picks the same loop and HTTP parser)."""
    import uvicorn

    uvicorn.run("bench.api_load:floor_app", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False,
                limit_concurrency=1024, backlog=2048, timeout_keep_alive=30)


# --------------------------------------------------------------------------- wrk


def wrk_available() -> bool:
    return subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode == 0


def run_wrk(url: str, connections: int, seconds: float, mode: str, people: Path | None,
            prefix: str) -> subprocess.Popen[str]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout",
            f"{REQUEST_TIMEOUT:.0f}s", "-s", str(LUA), url, "--", mode]
    if people is not None:
        args += [str(people), prefix]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc: subprocess.Popen[str]) -> dict[str, float]:
    output, _ = proc.communicate()
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in json.loads(line.removeprefix("RESULT ")).items()}
    raise SystemExit(f"wrk gave no result:\n{output}")


def floor(clients: int, seconds: float, workers: int, where: Path) -> Run:
    run = Run("floor", clients, seconds, generator="wrk")
    command = [sys.executable, "-m", "bench.api_load", "--serve-floor", "{port}",
               "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with served(command, ROOT, env, where / f"floor-{clients}.log") as base:
        result = wrk_result(run_wrk(f"{base}/floor", clients, seconds, "floor", None, ""))
    run.seconds, run.requests = result["seconds"], int(result["requests"])
    run.errors = int(result["status_errors"] + result["socket_errors"] + result["timeouts"])
    run.wrk = {"read_p50": result["p50_ms"], "read_p99": result["p99_ms"]}
    return run


# --------------------------------------------------------------------------- the load


async def load(base: str, people: list[dict[str, object]], clients: int,
               seconds: float, run: Run) -> dict[str, bool]:
    """Drive ``clients`` simulated clients for ``seconds``; the keys sent, acknowledged?"""
    readers = max(1, round(clients * READ_SHARE))
    keys: dict[str, bool] = {}
    stop = time.monotonic() + seconds

    def failed(why: str) -> None:
        run.errors += 1
        if len(run.error_samples) < 5:
            run.error_samples.append(why)

    async def reader(person: dict[str, object], http: httpx.AsyncClient) -> None:
        path = f"/api/v1/clients/{person['client']}/timeline"
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                got = await http.get(path, params={"limit": 20})
            except httpx.TimeoutException:
                run.timeouts += 1
                failed("read timed out")
                continue
            except httpx.HTTPError as exc:
                failed(f"read {exc!r}")
                continue
            run.requests += 1
            if got.status_code == 200:
                run.reads.append(time.perf_counter() - started)
            else:
                failed(f"read {got.status_code} {got.text[:120]}")

    async def writer(person: dict[str, object], http: httpx.AsyncClient) -> None:
        path = f"/api/v1/clients/{person['client']}/notes"
        while time.monotonic() < stop:
            key = uuid.uuid4().hex
            keys[key] = False
            for _attempt in range(2):  # one retry with the same key
                started = time.perf_counter()
                try:
                    got = await http.post(path, json={"text": f"kuorma {key}"},
                                          headers={"Idempotency-Key": key})
                except httpx.TimeoutException:
                    run.timeouts += 1
                    failed("write timed out")
                    continue
                except httpx.HTTPError as exc:
                    failed(f"write {exc!r}")
                    continue
                run.requests += 1
                if got.status_code == 201:
                    run.writes.append(time.perf_counter() - started)
                    keys[key] = True
                    break
                failed(f"write {got.status_code} {got.text[:120]}")
                if got.status_code < 500:
                    break

    tasks = []
    http_clients = []
    for n in range(clients):
        person = people[n]
        http = httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT,
                                 headers={"Authorization": f"Bearer {person['token']}"},
                                 limits=httpx.Limits(max_connections=1))
        http_clients.append(http)
        tasks.append(reader(person, http) if n < readers else writer(person, http))
    started = time.monotonic()
    await asyncio.gather(*tasks)
    run.seconds = time.monotonic() - started
    for http in http_clients:
        await http.aclose()
    return keys


def measure(kind: str, clients: int, seconds: float, checkout: Path, bases: dict[str, object],
            where: Path, n: int, workers: int, correctness: bool,
            max_requests: int | None = None) -> list[Run]:
    """The throughput run (wrk) and, if asked, the correctness run (Python) on one fresh
    database and server."""
    url = fresh_url(kind, bases, where, n)
    data = where / f"data-{n}"
    data.mkdir()
    people_file = where / f"people-{n}.json"
    subprocess.run([sys.executable, "-c", SEED, url, str(clients), str(people_file)],
                   cwd=checkout, env=child_env(checkout, url, data), check=True)
    people = json.loads(people_file.read_text())
    readers = max(1, round(clients * READ_SHARE))
    # wrk's readers take the first staff members, its writers the rest, as Python's do.
    lines = where / f"people-{n}.txt"
    lines.write_text("".join(f"{p['token']} {p['client']}\n" for p in people[:readers]))
    write_lines = where / f"people-{n}-write.txt"
    write_lines.write_text("".join(f"{p['token']} {p['client']}\n" for p in people[readers:]))
    runs: list[Run] = []
    command = serve_command(checkout, 0, workers, max_requests)
    command[command.index("--port") + 1] = "{port}"
    with served(command, checkout, child_env(checkout, url, data),
                where / f"server-{n}.log") as base:
        if wrk_available():
            fast = Run(kind, clients, seconds, generator="wrk")
            prefix = throughput(base, lines, write_lines, clients, seconds, fast)
            stored = count_notes(url)
            made = {key for key in stored if key.startswith(prefix)}
            fast.lost = max(0, int(fast.wrk.get("write_created", 0)) - len(made))
            fast.duplicated = sum(1 for key in made if stored[key] > 1)
            runs.append(fast)
        if correctness:
            run = Run(kind, clients, seconds)
            before = set(count_notes(url))
            keys = asyncio.run(load(base, people, clients, seconds, run))
            stored = {k: v for k, v in count_notes(url).items() if k not in before}
            run.lost = sum(1 for key, acked in keys.items() if acked and stored.get(key, 0) == 0)
            run.duplicated = sum(1 for key in keys if stored.get(key, 0) > 1)
            run.unacked = sum(1 for key, acked in keys.items()
                              if not acked and stored.get(key, 0))
            runs.append(run)
    return runs


def throughput(base: str, reads: Path, writes: Path, clients: int, seconds: float,
                     run: Run) -> str:
    """The readers' wrk and the writers' side by side; the writers' key prefix."""
    readers = max(1, round(clients * READ_SHARE))
    writers = clients - readers
    prefix = uuid.uuid4().hex[:12]
    procs = {"read": run_wrk(base, readers, seconds, "read", reads, prefix)}
    if writers:
        procs["write"] = run_wrk(base, writers, seconds, "write", writes, prefix)
    results = {mode: wrk_result(proc) for mode, proc in procs.items()}
    run.seconds = max(r["seconds"] for r in results.values())
    run.requests = int(sum(r["requests"] for r in results.values()))
    run.errors = int(sum(r["status_errors"] + r["socket_errors"] + r["timeouts"]
                         for r in results.values()))
    run.timeouts = int(sum(r["timeouts"] for r in results.values()))
    for mode, result in results.items():
        run.wrk |= {f"{mode}_p50": result["p50_ms"], f"{mode}_p99": result["p99_ms"],
                    f"{mode}_created": result["created"]}
    return prefix


# --------------------------------------------------------------------------- the table


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def row(run: dict[str, Any], floors: dict[int, float]) -> str:
    rps = float(run["requests"]) / float(run["seconds"]) if run["seconds"] else 0.0
    if run.get("generator") == "wrk":
        got = run.get("wrk", {})
        nan = float("nan")
        p = [got.get("read_p50", nan), got.get("read_p99", nan), got.get("write_p50", nan),
             got.get("write_p99", nan)]
    else:
        reads, writes = list(run["reads"]), list(run["writes"])
        p = [percentile(reads, 0.5), percentile(reads, 0.99), percentile(writes, 0.5),
             percentile(writes, 0.99)]
    base = floors.get(int(run["clients"]))
    ratio = f"{rps / base:.2f}" if base and run["database"] != "floor" else "-"
    counts = ("- | - | -" if run["database"] == "floor" else
              f"{run['lost']} | {run['duplicated']} | "
              f"{run['unacked'] if run.get('generator') != 'wrk' else '-'}")
    return (f"| {run['database']} | {run['clients']} | {run.get('generator', 'python')} | "
            f"{rps:.0f} | {ratio} | {' | '.join(_ms(v) for v in p)} | "
            f"{run['errors']} ({run['timeouts']} timeouts) | {counts} |")


def floor_rates(runs: list[dict[str, Any]]) -> dict[int, float]:
    return {int(r["clients"]): float(r["requests"]) / float(r["seconds"])
            for r in runs if r["database"] == "floor" and r["seconds"]}


def table(title: str, runs: list[dict[str, Any]]) -> None:
    floors = floor_rates(runs)
    print(f"\n{title}\n")
    print("| database | clients | generator | req/s | / floor | read p50 ms | read p99 ms | "
          "write p50 ms | write p99 ms | errors | lost | dup | unacked |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        print(row(run, floors))
    for run in runs:
        for sample in run.get("error_samples", []):
            print(f"  {run['database']} x{run['clients']}: {sample}")


def verdicts(runs: list[dict[str, Any]]) -> None:
    print("\n| check | target | got | |")
    print("| --- | --- | --- | --- |")
    for run in runs:
        if run["database"] == "floor":
            continue
        rps = float(run["requests"]) / float(run["seconds"])
        generator = run.get("generator", "python")
        label = f"{run['database']} x{run['clients']} ({generator})"
        if generator == "python":
            # Only this run can tell: wrk counts no request left unanswered at the end.
            if run["clients"] == 50:
                bad = int(run["errors"]) + int(run["lost"]) + int(run["duplicated"])
                verdict = "PASS" if bad == 0 else "MISS"
                print(f"| {label}: errors + lost + dup | 0 | {bad} | {verdict} |")
            continue  # its latencies and rate are the generator's as much as the server's
        if run["clients"] == 20 and run["database"] == "sqlite":
            p99 = float(run["wrk"].get("read_p99", float("nan")))
            ok = p99 <= TARGET_READ_P99_MS_AT_20
            print(f"| {label}: read p99 | <= {TARGET_READ_P99_MS_AT_20:.0f} ms | {p99:.0f} ms "
                  f"| {'PASS' if ok else 'MISS'} |")
        print(f"| {label}: requests/s | >= {TARGET_RPS:.0f} | {rps:.0f} | "
              f"{'PASS' if rps >= TARGET_RPS else 'MISS'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="10,20,50",
                        help="concurrent clients per run, comma separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="the checkout whose server is measured")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="server processes (clienthub serve --workers), the floor's too; "
                             "default: as clienthub serve's, one per core up to four")
    parser.add_argument("--max-requests", type=int,
                        help="clienthub serve --max-requests (default: the server's own)")
    parser.add_argument("--correctness", default="max", choices=["max", "all", "none"],
                        help="the Python correctness run: at the largest C (default), at "
                             "every C, or not at all")
    parser.add_argument("--label", default="", help="the table's title")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    parser.add_argument("--compare", type=Path, help="a saved run to print beside this one")
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, args.workers)
        return
    if not wrk_available():
        print("wrk is not installed, so only the correctness run is made (its figures are "
              "the Python generator's limits as much as the server's): apt-get install wrk",
              flush=True)
    kinds = [k for k in args.databases.split(",") if k]
    counts = [int(c) for c in args.clients.split(",") if c]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "api", "hub"],
                   cwd=args.checkout, check=False)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="api-load-") as tmp, \
            databases(kinds, Path(tmp)) as bases:
        if wrk_available():
            for clients in counts:
                print(f"floor, {clients} clients, {args.seconds:.0f} s ...", flush=True)
                runs.append(asdict(floor(clients, args.seconds, args.workers, Path(tmp))))
        n = 0
        for kind in kinds:
            for clients in counts:
                n += 1
                check = (args.correctness == "all" or not wrk_available()
                         or (args.correctness == "max" and clients == max(counts)))
                print(f"{kind}, {clients} clients, {args.seconds:.0f} s ...", flush=True)
                runs += [asdict(r) for r in measure(kind, clients, args.seconds,
                                                    args.checkout.resolve(), bases, Path(tmp),
                                                    n, args.workers, check,
                                                    args.max_requests)]
    if args.compare:
        saved = json.loads(args.compare.read_text())
        table(saved.get("label") or str(args.compare), saved["runs"])
    title = args.label or f"served from {args.checkout}"
    table(f"{title}, {args.workers} worker(s)", runs)
    verdicts(runs)
    if args.save:
        args.save.write_text(json.dumps({"label": args.label or str(args.checkout),
                                         "workers": args.workers, "runs": runs}))


if __name__ == "__main__":
    main()
