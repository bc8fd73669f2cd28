"""The web view under load: the client page and the timeline API in a firm of 400 clients
with a million timeline entries.

Run by hand (it prints figures, it asserts nothing)::

    .venv/bin/python -m bench.web --quick                    # 100k entries, 10 s runs
    .venv/bin/python -m bench.web                            # 1,000,000 entries, 30 s runs
    .venv/bin/python -m bench.web --databases sqlite --entries 300000

Per database (a SQLite file; a throw-away PostgreSQL cluster, tests/peers/postgres.py):

1. A fresh database is migrated and seeded set-based (``hub.bulk_rows``): 400 clients
   with Finnish names, 20 staff members responsible for about 40 clients each (two roles
   per client), and the entries - mail messages, file activity and notes with Finnish
   titles over 2024-2026 - spread over the clients as in a real firm: a few big clients
   hold much of the timeline, most hold a few hundred entries. Each staff member signs in
   as the sign-in page does (``hub.staff.web_sessions.start``) and has an API token.
2. ``clienthub serve`` runs as a child process with its defaults (one process per core
   up to four, no access log), driven by ``wrk`` with ``bench/web.lua``: each request is
   the next (staff member, client) pair of the ones that may be seen, with that member's
   cookie or token - ``GET /clients/{id}`` (the page) and
   ``GET /api/v1/clients/{id}/timeline?limit=50`` (access-filtered, audited).
   *Latency*: one connection, one request at a time (``wrk -c1``); *throughput*: 20
   connections for ``--seconds``.
3. The **floor**: the access-filtered newest-50 query alone (the reader's responsibility
   for the client, entries that are not private to someone else), in a Python loop on a
   driver connection to the same database: what no page built on it can beat.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.api_load import (
    ROOT,
    child_env,
    databases,
    fresh_url,
    serve_command,
    served,
    wrk_available,
    wrk_result,
)
from bench.imap_sync import FIRST, LAST, PHRASES, SUBJECTS

LUA = Path(__file__).with_suffix(".lua")
STAFF = 20
USERS = 20  # concurrent users of the throughput run
BATCH = 20_000
#: Targets, printed beside the figures.
TARGET_API_P99_MS = 10.0
TARGET_PAGE_P99_MS = 50.0
TARGET_PAGES_PER_S = 500.0
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S = int((datetime(2026, 12, 1, tzinfo=UTC) - START).total_seconds())

TRADES = ["Rakennus", "Kuljetus", "Kahvila", "Sähkö", "Saha", "Autokorjaamo", "Leipomo",
          "IT-palvelu", "Kukkakauppa", "Putki", "Maalaus", "Metsä", "LVI", "Siivouspalvelu",
          "Kampaamo", "Kirjapaino", "Tilitoimisto", "Konepaja", "Hammaslääkäri", "Kiinteistö"]
FORMS = ["Oy", "Oy", "Oy", "Ky", "Tmi", "Ay", "Oyj"]
NOTES = ["Soitto: {f} kysyi ALV-ilmoituksesta", "Palaveri tilinpäätöksestä {d}.{m}.",
         "Muistutus: ennakkoveron eräpäivä", "Palkanlaskennan muutokset {m}/2026",
         "Sovittu: tositteet kuun 5. päivään mennessä", "Yhtiökokous siirtyy, {f} ilmoittaa",
         "Tarkistettu pankin täsmäytys {m}/2025", "Uusi työntekijä, {f} {l}"]
FOLDERS = ["Kirjanpito/2026", "Kirjanpito/2025", "Palkanlaskenta/2026", "Tilinpäätös/2025",
           "Verotus", "Sopimukset", "Saapuneet"]
FILES = ["tiliote_{m}.pdf", "kuitit_{m}_2026.pdf", "palkkalaskelma_{m}.xlsx",
         "alv_{m}_2026.pdf", "paakirja.xlsx", "sopimus_{n}.docx", "lasku_{n}.pdf"]
ACTIONS = {"added": "lisätty", "modified": "muutettu", "deleted": "poistettu"}


# --------------------------------------------------------------------------- the firm


def client_sizes(entries: int, clients: int, rng: random.Random) -> list[int]:
    """Entries per client: heavy-tailed (Pareto), so a few clients are big, most small."""
    weights = [min(rng.paretovariate(1.1), 200.0) for _ in range(clients)]
    total = sum(weights)
    sizes = [max(1, int(entries * w / total)) for w in weights]
    sizes[max(range(clients), key=weights.__getitem__)] += entries - sum(sizes)
    return sizes


def entry_row(rng: random.Random, entry_id: int, client_id: int,
              staff: list[int]) -> dict[str, Any]:
    m, d, n = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1000, 99999)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    roll = rng.random()
    extra: dict[str, Any] = {}
    owner: int | None = None
    if roll < 0.6:
        kind, source = "message", "mail"
        title = rng.choice(SUBJECTS).format(m=m, d=d, n=n)
        summary = " ".join(rng.choice(PHRASES[1:-2]) for _ in range(2))
        owner = rng.choice(staff)
        extra = {"participants": [f"{first.lower()}.{last.lower()}@asiakas.fi"]}
    elif roll < 0.85:
        kind, source = "file_activity", "drive"
        action = rng.choice(list(ACTIONS))
        names = [rng.choice(FILES).format(m=m, n=n) for _ in range(rng.randint(1, 3))]
        folder = rng.choice(FOLDERS)
        title = f"{len(names)} tiedostoa {ACTIONS[action]}: {folder}"
        summary = ", ".join(names)
        extra = {"action": action, "count": len(names), "folder": folder, "names": names}
    else:
        kind, source = "note", "note"
        title = rng.choice(NOTES).format(f=first, l=last, d=d, m=m)
        summary = rng.choice(PHRASES[1:-2])
    when = START + timedelta(seconds=rng.randrange(SPAN_S))
    return {"id": entry_id, "client_id": client_id, "kind": kind, "occurred_at": when,
            "title": title, "summary": summary, "body": summary if kind == "note" else "",
            "source_kind": source,
            "source_ref": f"mail:{entry_id}" if kind == "message" else f"b{entry_id}",
            "actor_user_id": rng.choice(staff) if kind == "note" else None,
            "owner_user_id": owner, "owner_ids": [owner] if owner else [],
            "share_level": "full", "is_private": False, "private_to": [], "extra": extra,
            "created_at": when}


def seed(url: str, entries: int, n_clients: int, data: Path) -> list[dict[str, Any]]:
    """Migrate and fill the database; one line per (staff member, client they may see)."""
    from sqlalchemy import Table

    from hub import schema
    from hub.bulk_rows import insert_rows, reserve_ids
    from hub.clients.models import Client, Responsibility
    from hub.db import make_engine, make_session_factory
    from hub.settings import Settings
    from hub.staff import web_sessions
    from hub.staff.models import ApiToken, User
    from hub.staff.service import TOKEN_PREFIX, hash_token
    from hub.timeline.models import TimelineEntry

    rng = random.Random(12)
    engine = make_engine(url)
    schema.upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        users: Table = User.__table__  # type: ignore[assignment]
        staff = reserve_ids(conn, users, STAFF)
        insert_rows(conn, users, [{
            "id": uid, "email": f"henkilo{k}@tilitoimisto.fi", "is_admin": False,
            "name": f"{FIRST[k % len(FIRST)]} {LAST[k % len(LAST)]}", "is_active": True,
            "created_at": now, "password_hash": None, "locale": "fi"}
            for k, uid in enumerate(staff)])
        clients: Table = Client.__table__  # type: ignore[assignment]
        client_ids = reserve_ids(conn, clients, n_clients)
        names = [f"{rng.choice(TRADES)} {rng.choice(LAST)} {k} {rng.choice(FORMS)}"
                 for k in range(n_clients)]
        insert_rows(conn, clients, [{
            "id": cid, "name": name, "name_key": name.lower(), "business_id": None,
            "status": "active", "group_id": None, "customer_number": 1000 + k,
            "summary": "", "created_at": now, "updated_at": now}
            for k, (cid, name) in enumerate(zip(client_ids, names, strict=True))])
        seen: dict[int, set[int]] = {uid: set() for uid in staff}
        duties = []
        for k, cid in enumerate(client_ids):
            for role, uid in (("asiakasvastaava", staff[k % STAFF]),
                              ("kirjanpitaja", staff[(k * 7 + 3) % STAFF])):
                seen[uid].add(cid)
                duties.append({"user_id": uid, "client_id": cid, "role": role,
                               "valid_from": None, "valid_until": None, "created_at": now})
        insert_rows(conn, Responsibility.__table__, duties)  # type: ignore[arg-type]
    sizes = client_sizes(entries, n_clients, rng)
    owners = [c for c, size in zip(client_ids, sizes, strict=True) for _ in range(size)]
    rng.shuffle(owners)  # ids grow with time across the firm, as syncs write them
    table: Table = TimelineEntry.__table__  # type: ignore[assignment]
    started = time.perf_counter()
    for begin in range(0, len(owners), BATCH):
        chunk = owners[begin:begin + BATCH]
        with engine.begin() as conn:
            ids = reserve_ids(conn, table, len(chunk))
            insert_rows(conn, table, [entry_row(rng, i, c, staff)
                                      for i, c in zip(ids, chunk, strict=True)])
    print(f"  {len(owners)} entries in {time.perf_counter() - started:.0f} s "
          f"(largest client {max(sizes)}, median {sorted(sizes)[len(sizes) // 2]})",
          flush=True)
    settings = Settings(database_url=url, data_dir=data)
    people = []
    with make_session_factory(engine)() as session:
        for uid in staff:
            user = session.get(User, uid)
            assert user is not None
            cookie = web_sessions.start(session, user, now, settings)  # as the sign-in does
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            session.add(ApiToken(user_id=uid, name="", prefix=token[:10],
                                 token_hash=hash_token(token)))
            people += [{"user": uid, "cookie": cookie, "token": token, "client": cid}
                       for cid in sorted(seen[uid])]
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    rng.shuffle(people)
    return people


# --------------------------------------------------------------------------- the floor

FLOOR_SQL = (
    "SELECT t.id, t.kind, t.occurred_at, t.title, t.summary, t.owner_user_id, "
    "t.share_level, t.is_private, t.private_to, t.extra FROM timeline_entries t "
    "WHERE t.client_id = {p} AND EXISTS (SELECT 1 FROM responsibilities r "
    "WHERE r.user_id = {p} AND r.client_id = t.client_id) "
    "AND (t.is_private = {false} OR t.owner_user_id = {p}) "
    "ORDER BY t.occurred_at DESC, t.id DESC LIMIT 50")


def floor(url: str, people: list[dict[str, Any]], rounds: int) -> list[float]:
    """Seconds per access-filtered newest-50 page, raw SQL on a driver connection."""
    from hub.db import make_engine

    engine = make_engine(url)
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    sql = FLOOR_SQL.format(p="?" if sqlite else "%s", false="0" if sqlite else "false")
    cursor = raw.cursor()
    times = []
    for k in range(rounds + 200):
        person = people[k % len(people)]
        started = time.perf_counter()
        cursor.execute(sql, (person["client"], person["user"], person["user"]))
        got = cursor.fetchall()
        if k >= 200:  # the first ones warm the cache
            times.append(time.perf_counter() - started)
        assert got, "the floor query found no entries"
    raw.close()
    engine.dispose()
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --------------------------------------------------------------------------- the load


def run_wrk(base: str, mode: str, people: Path, connections: int,
            seconds: float) -> dict[str, float]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "30s",
            "-s", str(LUA), base, "--", mode, str(people)]
    return wrk_result(subprocess.Popen(args, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True))


def check_answers(base: str, person: dict[str, Any]) -> None:
    """One page and one API read answered as they should, before anything is timed."""
    import httpx

    page = httpx.get(f"{base}/clients/{person['client']}", timeout=30,
                     cookies={"clienthub_session": person["cookie"]})
    api = httpx.get(f"{base}/api/v1/clients/{person['client']}/timeline",
                    params={"limit": 50}, timeout=30,
                    headers={"Authorization": f"Bearer {person['token']}"})
    if page.status_code != 200 or "<html" not in page.text.lower():
        raise SystemExit(f"the client page answered {page.status_code}: {page.text[:200]}")
    if api.status_code != 200 or not api.json()["items"]:
        raise SystemExit(f"the timeline API answered {api.status_code}: {api.text[:200]}")


def measure(kind: str, bases: dict[str, object], where: Path, args: argparse.Namespace,
            n: int) -> dict[str, Any]:
    url = fresh_url(kind, bases, where, n)
    data = where / f"data-{n}"
    data.mkdir()
    print(f"{kind}: seeding {args.entries} entries, {args.clients} clients ...", flush=True)
    people = seed(url, args.entries, args.clients, data)
    lines = where / f"people-{n}.txt"
    lines.write_text("".join(f"{p['cookie']} {p['token']} {p['client']}\n" for p in people))
    result: dict[str, Any] = {"database": kind}
    print(f"{kind}: the floor ...", flush=True)
    times = floor(url, people, args.floor_rounds)
    result["floor"] = {"requests": len(times), "p50": percentile(times, 0.5),
                       "p99": percentile(times, 0.99)}
    command = serve_command(ROOT, 0, 2)
    command[command.index("--port") + 1] = "{port}"
    # clienthub serve's own default for the number of processes, not the one given here.
    if "--workers" in command:
        at = command.index("--workers")
        del command[at:at + 2]
    with served(command, ROOT, child_env(ROOT, url, data), where / f"server-{n}.log") as base:
        check_answers(base, people[0])
        for mode in ("api", "page"):
            print(f"{kind}: {mode}, one at a time, then {USERS} users, "
                  f"{args.seconds:.0f} s each ...", flush=True)
            run_wrk(base, mode, lines, 2, 2)  # every process has its templates and plans
            one = run_wrk(base, mode, lines, 1, args.seconds)
            many = run_wrk(base, mode, lines, USERS, args.seconds)
            result[mode] = {
                "requests": int(one["requests"]), "p50": one["p50_ms"], "p99": one["p99_ms"],
                "rps": many["requests"] / many["seconds"], "load_p99": many["p99_ms"],
                "errors": int(sum(r["status_errors"] + r["socket_errors"] + r["timeouts"]
                                  for r in (one, many)))}
    return result


# --------------------------------------------------------------------------- the table


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:.0f}"


def table(result: dict[str, Any], entries: int, clients: int) -> None:
    print(f"\n{result['database']}: {clients} clients, {entries} timeline entries\n")
    print(f"| request | measured | p50 ms | p99 ms | req/s, {USERS} users | "
          f"p99 ms, {USERS} users | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    f = result["floor"]
    print(f"| floor: access-filtered newest 50, raw SQL | {f['requests']} queries | "
          f"{_ms(f['p50'])} | {_ms(f['p99'])} | - | - | - |")
    for mode, label in (("api", "`GET /api/v1/clients/{id}/timeline?limit=50`"),
                        ("page", "`GET /clients/{id}` (the page)")):
        r = result[mode]
        print(f"| {label} | {r['requests']} requests | {_ms(r['p50'])} | {_ms(r['p99'])} | "
              f"{r['rps']:.0f} | {_ms(r['load_p99'])} | {r['errors']} |")


def verdicts(results: list[dict[str, Any]]) -> None:
    print("\n| check | target | got | |")
    print("| --- | --- | --- | --- |")
    for r in results:
        db = r["database"]
        checks = [(f"{db}: client pages/s, {USERS} users", f">= {TARGET_PAGES_PER_S:.0f}",
                   r["page"]["rps"], r["page"]["rps"] >= TARGET_PAGES_PER_S, "")]
        if db == "sqlite":
            checks = [
                ("sqlite: timeline API p99", f"<= {TARGET_API_P99_MS:.0f} ms",
                 r["api"]["p99"], r["api"]["p99"] <= TARGET_API_P99_MS, " ms"),
                ("sqlite: client page p99", f"<= {TARGET_PAGE_P99_MS:.0f} ms",
                 r["page"]["p99"], r["page"]["p99"] <= TARGET_PAGE_P99_MS, " ms"),
                *checks]
        for label, target, got, ok, unit in checks:
            print(f"| {label} | {target} | {_ms(got)}{unit} | {'PASS' if ok else 'MISS'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="length of each wrk run (four per database)")
    parser.add_argument("--floor-rounds", type=int, default=5000)
    parser.add_argument("--quick", action="store_true",
                        help="100,000 entries and 10 s runs, a smoke run")
    parser.add_argument("--save", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.seconds = 100_000, 10.0
    if not wrk_available():
        raise SystemExit("wrk drives the server and is not installed: apt-get install wrk")
    kinds = [k for k in args.databases.split(",") if k]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "api", "hub"], cwd=ROOT,
                   check=False)
    results = []
    # /dev/shm: a shared machine's disk stalls must not show up as the page's latency.
    with tempfile.TemporaryDirectory(prefix="web-bench-", dir="/dev/shm") as tmp, \
            databases(kinds, Path(tmp)) as bases:
        for n, kind in enumerate(kinds, start=1):
            results.append(measure(kind, bases, Path(tmp), args, n))
    for result in results:
        table(result, args.entries, args.clients)
    verdicts(results)
    if args.save:
        args.save.write_text(json.dumps({"entries": args.entries, "clients": args.clients,
                                         "seconds": args.seconds, "results": results}))


if __name__ == "__main__":
    main()
