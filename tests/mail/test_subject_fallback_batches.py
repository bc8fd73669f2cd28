"""A reply that names no parent joins a thread by its subject across batches: the
set-based filing reads the stored side of the fallback once per batch
(``hub.mail.bulk._StoredSubjects``) and must decide as filing copy by copy does."""

from __future__ import annotations

import mailbox
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.mail.parse import parse_message
from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.db import make_engine, make_session_factory
from hub.flows.sync import account_row
from hub.mail.filing import Filing
from hub.mail.ingest import MailSink
from hub.mail.models import MailMessage
from hub.staff.models import User
from hub.sync.runner import Runner
from tests.mail.conftest import mail
from workers.sync import connector_for

PIA, EERO, OLLI = "Pia <pia@yritys.fi>", "Eero <eero@muu.fi>", "Olli <olli@muu.fi>"
X = "x@firm.test"


def _mailbox() -> list[bytes]:
    """Filed two at a time, every reply comes in a later batch than the threads it
    could join."""
    return [
        mail("t1", PIA, [X], "Lasku 100", "alku", cc=[EERO], days_ago=10),
        mail("t2", OLLI, [X], "Lasku 100", "toinen samalla otsikolla", days_ago=9),
        # Pia and x took part in t1: joins it.
        mail("r1", PIA, [X], "VS: Lasku 100", "ilman viittauksia", days_ago=5),
        # Pia and Eero took part in t1, but 65 days from it: a conversation of its own.
        mail("r2", EERO, [PIA], "Re: Lasku 100", "vanha", days_ago=75),
        # One person of t1 and one of t2: two people in one thread are needed.
        mail("r3", OLLI, [EERO], "Re: Lasku 100", "sekaisin", days_ago=8),
        # Two people of t2 and two of t1 (with r1): the older thread wins.
        mail("r4", X, [OLLI, PIA], "Fwd: Lasku 100", "molemmille", days_ago=7),
    ]


def _threads(factory: sessionmaker[Session], tmp: Path, set_based: bool) -> set[frozenset[str]]:
    path = tmp / "box.mbox"
    box = mailbox.mbox(path)
    for raw in _mailbox():
        box.add(raw)
    box.close()
    with factory() as session:
        owner = User(email=X, name="X", is_admin=False, is_active=True)
        session.add(owner)
        session.flush()
        account = create_account(session, None, AccountIn(
            kind="mail_archive", name="box", owner_user_id=owner.id,
            settings={"path": str(path)}))
        session.commit()
        account_id, connector = account.id, connector_for(account, None)
    sink = MailSink()
    [run] = Runner(factory, {"message": sink, "flags": sink},
                   account=account_row).run(account_id, connector)
    assert run.status == "ok" and run.items == 6
    filing = Filing(factory, parse_message, batch_size=2, set_based=set_based)
    filed = filing.run(account_id)
    assert filed.status == "ok" and filed.items == 6
    assert filing.careful_batches == 0
    with factory() as session:
        threads: dict[int, set[str]] = {}
        for thread_id, key in session.execute(
                select(MailMessage.thread_id, MailMessage.message_key)):
            threads.setdefault(thread_id, set()).add(key.removesuffix("@test"))
    return {frozenset(keys) for keys in threads.values()}


def test_replies_by_subject_join_stored_threads_as_one_by_one(database_url,
                                                               second_database_url,
                                                               tmp_path):
    found = []
    for url, set_based in ((database_url, True), (second_database_url, False)):
        engine = make_engine(url)
        try:
            work = tmp_path / ("bulk" if set_based else "one")
            work.mkdir()
            found.append(_threads(make_session_factory(engine), work, set_based))
        finally:
            engine.dispose()
    bulk, reference = found
    assert bulk == reference
    assert reference == {frozenset({"t1", "r1", "r4"}), frozenset({"t2"}),
                         frozenset({"r2"}), frozenset({"r3"})}
