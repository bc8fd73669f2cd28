"""Search: what keeping the index costs the mail sync, and how fast a search answers.

Run by hand (it prints figures, it asserts nothing)::

    .venv/bin/python -m bench.search                    # 10,000 messages, both databases
    .venv/bin/python -m bench.search --messages 50000 --databases sqlite

1. *Writing*: the messages of a sync batch (realistic Finnish mail of 0.3-2 KB, as
   bench/imap_sync.py makes them) inserted into ``mail_messages`` 500 at a time with the
   same multi-row insert the set-based filing uses, into a database with the search index
   and into one without it; CPU seconds of this process (and wall seconds) per 10,000.
   On PostgreSQL the server does the work, so only wall time tells.
2. *Searching*: a firm of 400 clients with contacts, the messages above linked to them
   with their timeline entries, a note per 5 messages and a drive folder per client; then
   :func:`hub.search.service.search` (audit row included) for type-ahead queries, as a
   colleague who sees every client and as one responsible for 40: p50 and p99 in ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, text

from bench.imap_sync import COMPANIES, FIRST, LAST, PHRASES, SUBJECTS

BATCH = 500
QUERIES = ["tilinp", "alv", "palkka", "kassavirta", "virtanen", "mäkinen", "asiakas 12",
           "kuitit marras", "verohallinnon", "pöytäkirja", "sopimus", "1234", "tiliote",
           "osingonjako", "järvinen", "lasku", "kilometri", "helmi", "yhtiökokous"]
WHEN = datetime(2026, 11, 20, 12, tzinfo=UTC)


def mail_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """The subject and text of ``n`` messages, as bench/imap_sync.py writes them."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        subject = rng.choice(SUBJECTS).format(m=rng.randint(1, 12), d=rng.randint(1, 28),
                                              n=rng.randint(1000, 99999))
        lines = [rng.choice(PHRASES[1:-2]) for _ in range(rng.randint(1, 22))]
        sender = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        body = "\n".join([PHRASES[0], "", *lines, "", rng.choice(PHRASES[-2:]), sender])
        rows.append({"subject": subject, "text": body, "sender_name": sender})
    return rows


@contextmanager
def database(kind: str, with_index: bool) -> Iterator[Engine]:
    """A database at the newest schema, with or without the search index."""
    from hub import schema
    from hub.db import make_engine
    from hub.search import schema as search_schema

    install = search_schema.install
    if not with_index:
        search_schema.install = lambda conn: None  # type: ignore[assignment]
    try:
        if kind == "sqlite":
            with tempfile.TemporaryDirectory(dir="/dev/shm") as where:
                engine = make_engine(f"sqlite:///{Path(where) / 'bench.sqlite3'}")
                schema.upgrade(engine)
                yield engine
                engine.dispose()
            return
        from tests.peers.postgres import postgres_server

        with postgres_server() as url:
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_search"))
            engine = make_engine(url.rsplit("/", 1)[0] + "/bench_search")
            schema.upgrade(engine)
            yield engine
            engine.dispose()
            admin.dispose()
    finally:
        search_schema.install = install


def insert_mail(engine: Engine, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Insert the messages batch by batch as filing does; (CPU s, wall s)."""
    from hub.bulk_rows import insert_rows, reserve_ids
    from hub.mail.models import MailMessage, MailRaw, MailThread

    messages: Table = MailMessage.__table__  # type: ignore[assignment]
    with engine.begin() as conn:
        conn.execute(MailRaw.__table__.insert(), {"sha256": "0" * 64, "raw": b"x"})
        conn.execute(MailThread.__table__.insert(), {
            "subject_key": "x", "is_private": False, "private_to": [], "created_at": WHEN})
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            chunk = rows[start:start + BATCH]
            ids = reserve_ids(conn, messages, len(chunk))
            insert_rows(conn, messages, [{
                "id": i, "message_key": f"<{i}@bench>", "thread_id": 1, "raw_id": 1,
                "subject": r["subject"], "sender_name": r["sender_name"],
                "sender_address": "a@b.fi", "sent_at": WHEN - timedelta(minutes=i),
                "snippet": r["text"][:200], "text": r["text"], "html": "", "headers": {},
                "attachments": [], "auto_submitted": False, "headers_only": False,
                "parse_failed": False, "problems": [], "internal_only": False,
                "created_at": WHEN} for i, r in zip(ids, chunk, strict=True)])
    return time.process_time() - cpu, time.perf_counter() - wall


def firm(engine: Engine, n_messages: int) -> tuple[int, int]:
    """400 clients, their contacts, links and timeline entries for the messages already
    inserted, notes and folders; returns the ids of (a reader of all, a reader of 40)."""
    from hub.access.models import AccessRule
    from hub.accounts.models import Account
    from hub.bulk_rows import insert_rows
    from hub.clients.models import Client, Contact, ContactEmail, Responsibility
    from hub.db import make_session_factory
    from hub.drive.listing import FileRow
    from hub.drive.models import DriveFolder
    from hub.mail.models import MessageClientLink
    from hub.staff.models import User
    from hub.timeline.models import TimelineEntry

    rng = random.Random(3)
    with make_session_factory(engine)() as session:
        everyone = User(email="kaikki@firm.fi", name="Kaisa Kaikki", is_admin=True)
        some = User(email="osa@firm.fi", name="Olli Osa")
        session.add_all([everyone, some])
        session.add(AccessRule(subject="admin", level="full"))
        session.add(AccessRule(subject="role", role="asiakasvastaava", level="full"))
        session.flush()
        drive = Account(owner_user_id=everyone.id, kind="local", name="Asema",
                        settings={"path": "/nonexistent"})
        session.add(drive)
        clients = []
        for i in range(400):
            name = f"Asiakas {i} {COMPANIES[i % len(COMPANIES)].capitalize()} Oy"
            person = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}"
            clients.append(Client(
                name=name, name_key=name.casefold(), customer_number=1000 + i,
                business_id=f"{1234000 + i}-{i % 10}", status="active",
                contacts=[Contact(name=person, role="toimitusjohtaja", emails=[
                    ContactEmail(email=f"{person.split()[0].lower()}{i}@asiakas{i}.fi")])]))
        session.add_all(clients)
        session.flush()
        session.add_all(Responsibility(user_id=some.id, client_id=c.id, role="asiakasvastaava")
                        for c in clients[:40])
        conn = session.connection()
        links, entries = [], []
        subjects = dict(conn.execute(text("SELECT id, subject FROM mail_messages")).all())
        for message_id, subject in subjects.items():
            client = clients[rng.randrange(400)]
            links.append({"message_id": message_id, "client_id": client.id,
                          "origin": "contact", "removed": False, "decided_by": None,
                          "created_at": WHEN})
            entries.append({
                "client_id": client.id, "kind": "message", "source_kind": "mail",
                "source_ref": f"mail:{message_id}", "occurred_at": WHEN, "title": subject,
                "summary": "", "body": "", "actor_user_id": None,
                "owner_user_id": everyone.id, "owner_ids": [everyone.id],
                "share_level": "full", "is_private": False, "private_to": [], "extra": {},
                "created_at": WHEN})
        insert_rows(conn, MessageClientLink.__table__, links)  # type: ignore[arg-type]
        insert_rows(conn, TimelineEntry.__table__, entries)  # type: ignore[arg-type]
        notes = mail_rows(n_messages // 5, seed=11)
        session.add_all(TimelineEntry(
            client_id=clients[i % 400].id, kind="note", source_kind="note",
            source_ref=f"note:{i}", occurred_at=WHEN - timedelta(hours=i),
            title=n["subject"], summary=n["text"][:280], body=n["text"])
            for i, n in enumerate(notes))
        session.add_all(DriveFolder(
            account_id=drive.id, path=f"{c.customer_number} {c.name}/Kirjanpito/",
            parent=f"{c.customer_number} {c.name}/", name="Kirjanpito", client_id=c.id,
            files=[FileRow(f"{s} {m}-2026.pdf", 1000) for m in range(1, 13)
                   for s in ("Tiliote", "Palkkalaskelma", "ALV-laskelma")],
            listed=True) for c in clients)
        session.commit()
        return everyone.id, some.id


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def searching(engine: Engine, readers: tuple[int, int], rounds: int) -> dict[str, list[float]]:
    from hub.access.policy import Principal
    from hub.db import make_session_factory
    from hub.search.service import search
    from hub.staff.models import User

    found: dict[str, list[float]] = {}
    factory = make_session_factory(engine)
    for label, user_id in zip(("sees all 400", "sees 40"), readers, strict=True):
        times: list[float] = []
        for _ in range(rounds):
            for query in QUERIES:
                with factory() as session:
                    user = session.get(User, user_id)
                    assert user is not None
                    principal = Principal.of(user)
                    times += timed(lambda s=session, q=query, pr=principal: search(
                        s, pr, q, limit=10, at=datetime.now(UTC)), 1)
        found[label] = times
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--rounds", type=int, default=10, help="times each query is asked")
    args = ap.parse_args(argv)
    rows = mail_rows(args.messages)
    per = 10_000 / args.messages
    print(f"{args.messages:,} messages, {sum(len(r['text']) for r in rows) / len(rows):.0f} "
          "characters of text each on average")
    for kind in args.databases.split(","):
        for with_index in (False, True):
            with database(kind, with_index) as engine:
                cpu, wall = insert_mail(engine, rows)
                label = "with the index   " if with_index else "without the index"
                print(f"{kind:10} insert {label}: {cpu * per:6.2f} s CPU here, "
                      f"{wall * per:6.2f} s wall per 10,000 messages")
                if not with_index:
                    continue
                readers = firm(engine, args.messages)
                with engine.connect() as conn:
                    docs = conn.execute(text(
                        "SELECT (SELECT count(*) FROM mail_messages) + (SELECT count(*) FROM "
                        "clients) + (SELECT count(*) FROM contacts) + (SELECT count(*) FROM "
                        "timeline_entries WHERE kind = 'note') + "
                        "(SELECT count(*) FROM drive_folders)")).scalar()
                for label, times in searching(engine, readers, args.rounds).items():
                    print(f"{kind:10} search, {docs:,} documents, {label:12}: "
                          f"p50 {p(times, 50):6.1f} ms, p99 {p(times, 99):6.1f} ms "
                          f"({len(times)} searches)")


if __name__ == "__main__":
    main()
