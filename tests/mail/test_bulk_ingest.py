"""The set-based filing (hub.mail.bulk) leaves exactly the rows that filing every copy by
itself leaves - the careful path after a failure, and the reference."""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.mail.parse import parse_message
from hub.accounts.models import Account
from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.clients.models import Client, ClientDomain, Contact, ContactEmail
from hub.db import make_engine, make_session_factory
from hub.flows.sync import account_row
from hub.mail.filing import Filing
from hub.mail.ingest import MailSink
from hub.mail.models import (
    MailCopy,
    MailInbound,
    MailMessage,
    MailParticipant,
    MailRaw,
    MailThread,
    MessageClientLink,
)
from hub.staff.models import User
from hub.sync.runner import Runner
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.mail.conftest import mail
from workers.sync import connector_for

PIA, EERO = "Pia <pia@yritys.fi>", "Eero <eero@muu.fi>"


def _mailboxes(staff: tuple[str, str]) -> tuple[list[bytes], list[bytes]]:
    x, y = staff
    shared = mail("both", PIA, [x], "Kuitit", "sama viesti kahdessa laatikossa", cc=[y])
    first = [
        mail("r2", x, [PIA], "Re: Palkat", "vastaus ennen alkuperäistä", reply_to=["r1"]),
        mail("r1", PIA, [x], "Palkat", "alkuperäinen", days_ago=2),
        mail("r3", PIA, [x], "VS: Re: Palkat", "ilman viittauksia", days_ago=0.5),
        mail("d1", EERO, [x], "Tarjous", "verkkotunnuksella", days_ago=3),
        mail("i1", x, [y], "Lounas", "sisäinen", days_ago=1),
        shared,
        mail("a1", PIA, [x], "Kaksi keskustelua", "a", days_ago=4),
        mail("b1", EERO, [x], "Toinen", "b", days_ago=4),
        # Bridges the two threads above: they become one.
        mail("ab", x, [PIA, EERO], "Re: yhdessä", "c", reply_to=["a1", "b1"], days_ago=3.5),
        mail("free", "Matti <matti@gmail.com>", [x], "Kysymys", "tuntematon", days_ago=1),
        mail("r1", PIA, [x], "Palkat", "kaksoiskappale samassa erässä", days_ago=2),
        b"\x00\xff not mail at all",
        b"",
    ]
    second = [
        shared,
        mail("r4", y, [PIA], "Re: Palkat", "kollegan vastaus", reply_to=["r3"], days_ago=0.2),
        mail("d2", EERO, [y], "Re: Tarjous", "jatko", reply_to=["d1"], days_ago=2),
    ]
    return first, second


def _sync(factory: sessionmaker[Session], tmp: Path, one_by_one: bool) -> None:
    with factory() as session:
        x, y = (User(email=e, name=e, is_admin=False, is_active=True)
                for e in ("x@firm.test", "y@firm.test"))
        session.add_all([x, y])
        pia = f.client(session, name="Yritys Oy")
        muu = f.client(session, name="Muu Oy")
        contact = Contact(client_id=pia.id, name="Pia")
        session.add(contact)
        session.flush()
        session.add(ContactEmail(contact_id=contact.id, email="pia@yritys.fi"))
        session.add(ClientDomain(client_id=muu.id, domain="muu.fi"))
        accounts = []
        for who, raws, name in zip((x, y), _mailboxes((x.email, y.email)), ("a", "b"),
                                   strict=True):
            path = tmp / f"{name}.mbox"
            box = mailbox.mbox(path)
            for raw in raws:
                box.add(raw)
            box.close()
            accounts.append(create_account(session, None, AccountIn(
                kind="mail_archive", name=name, owner_user_id=who.id, settings={"path": str(path)},
                share_level="subject" if name == "b" else "full")))
        session.commit()
        jobs = [(a.id, connector_for(a, None)) for a in accounts]
    sink = MailSink()
    runner = Runner(factory, {"message": sink, "flags": sink}, account=account_row)
    filing = Filing(factory, parse_message, set_based=not one_by_one)
    for account_id, connector in jobs:
        [run] = runner.run(account_id, connector)
        assert run.status == "ok" and run.errors == 0
        filed = filing.run(account_id)
        assert filed.status == "ok" and filed.errors == 0 and filed.items == run.items
        # The set-based path did the work itself: it never fell back to the reference.
        assert filing.careful_batches == 0


def _snapshot(session: Session) -> dict[str, Any]:
    """Everything ingest wrote, named by message keys, user e-mails and client names
    instead of ids (which the two paths may number differently)."""
    key = dict(session.execute(select(MailMessage.id, MailMessage.message_key)).all())
    email = dict(session.execute(select(User.id, User.email)).all())
    account = dict(session.execute(select(Account.id, Account.name)).all())
    client = dict(session.execute(select(Client.id, Client.name)).all())
    threads: dict[int, set[str]] = {}
    messages = {}
    for m in session.scalars(select(MailMessage)):
        threads.setdefault(m.thread_id, set()).add(m.message_key)
        # Undated mail is dated when it arrives, so each run gives it another time.
        sent = None if m.message_key.startswith("sha256:") else m.sent_at
        messages[m.message_key] = (m.subject, m.sender_address, sent, m.snippet, m.text,
                                   m.internal_only, m.parse_failed, m.headers_only,
                                   m.problems, m.headers)
    last = {}
    for t in session.scalars(select(MailThread)):
        keys = frozenset(threads[t.id])
        dated = not all(k.startswith("sha256:") for k in keys)
        last[keys] = (t.subject_key, t.last_message_at if dated else None, t.is_private)
    entries = set()
    for e in session.scalars(select(TimelineEntry).where(TimelineEntry.source_kind == "mail")):
        extra = dict(e.extra)
        msg = key[extra.pop("message_id")]
        entries.add((client[e.client_id], msg, e.kind, e.title, e.summary, e.occurred_at,
                     tuple(email[o] for o in e.owner_ids), e.share_level, e.is_private,
                     repr(sorted(extra.items()))))
    return {
        "messages": messages,
        "threads": last,
        "raw": {(m.message_key, r.sha256) for m, r in session.execute(
            select(MailMessage, MailRaw).join(MailRaw, MailRaw.id == MailMessage.raw_id))},
        # A colleague's copy of a stored message leaves no bytes behind.
        "bytes": session.scalar(select(func.count()).select_from(MailRaw)),
        "waiting": session.scalar(select(func.count()).select_from(MailInbound)),
        "participants": {(key[p.message_id], p.address, p.domain, p.name, p.role)
                         for p in session.scalars(select(MailParticipant))},
        "copies": {(key[c.message_id], account[c.account_id], c.folder, c.deleted_at is None)
                   for c in session.scalars(select(MailCopy))},
        "links": {(key[link.message_id], client[link.client_id], link.origin, link.removed)
                  for link in session.scalars(select(MessageClientLink))},
        "entries": entries,
    }


def _differences(got: Any, want: Any) -> Any:
    if isinstance(want, dict):
        return {k: (got.get(k), want.get(k)) for k in want.keys() | got.keys()
                if got.get(k) != want.get(k)}
    return got ^ want


def test_set_based_ingest_equals_one_by_one(database_url, second_database_url, tmp_path):
    snapshots = []
    for url, one_by_one in ((database_url, False), (second_database_url, True)):
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            work = tmp_path / ("one" if one_by_one else "bulk")
            work.mkdir()
            _sync(factory, work, one_by_one)
            with factory() as session:
                snapshots.append(_snapshot(session))
        finally:
            engine.dispose()
    bulk, reference = snapshots
    for part in reference:
        if bulk[part] != reference[part]:
            diff = _differences(bulk[part], reference[part])
            raise AssertionError(f"{part}: {diff}")
    # The corpus really exercises what the set-based path decides by itself.
    threads = reference["threads"]
    assert any({"r1@test", "r2@test", "r3@test", "r4@test"} <= t for t in threads)
    assert any({"a1@test", "b1@test", "ab@test"} <= t for t in threads)
    assert {c[1] for c in reference["copies"] if c[0] == "both@test"} == {"a", "b"}
    assert ("d1@test", "Muu Oy", "domain", False) in reference["links"]
    assert not any(link[0] in {"i1@test", "free@test"} for link in reference["links"])
    assert sum(1 for m in reference["messages"].values() if m[6]) >= 1
    # One stored copy of the bytes per message: colleagues' copies and in-batch duplicates
    # left none behind, and nothing waits to be filed.
    assert reference["bytes"] == len(reference["messages"])
    assert reference["waiting"] == 0
