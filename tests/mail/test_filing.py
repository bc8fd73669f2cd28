"""Filing fetched mail: the queue between fetch and timeline, seen through the status API;
a copy whose filing fails is held, not lost; an interrupted filing resumes exactly; parse
worker processes file what parsing in the process files."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connectors.mail.parse import parse_message
from hub.flows.sync import account_row
from hub.mail import filing as filing_module
from hub.mail.filing import Filing
from hub.mail.models import MailCopy, MailInbound, MailMessage, MailRaw
from hub.sync.models import SyncRun
from hub.sync.runner import Runner
from hub.timeline.models import TimelineEntry
from tests import factories as f
from tests.mail.conftest import client_with_contact, count, mail
from workers.sync import connector_for, sinks, sync_account

CLIENT = "Jari Mäkinen <jari@rakennusmakinen.fi>"


def _fetch(session_factory, account) -> None:
    """Only the fetch stage of a sync: the runner with the mail sink, no filing."""
    [run] = Runner(session_factory, sinks("mail_archive"), account=account_row).run(
        account.id, connector_for(account, None))
    assert run.status == "ok", run.message


def _status(api, session, user):
    token = f.token(session, user)
    session.commit()
    [status] = api.get("/api/v1/sync/status",
                       headers={"Authorization": f"Bearer {token}"}).json()["items"]
    return status


def test_fetched_mail_waits_until_filed_and_the_status_says_so(session, session_factory,
                                                              mbox_account, api):
    owner = f.user(session)
    client = client_with_contact(session)
    account = mbox_account(owner, [mail(f"w{i}", CLIENT, [owner.email], f"Kuitit {i}", "x")
                                   for i in range(7)])
    _fetch(session_factory, account)
    # Stored, raw and queued; nothing in the timeline yet.
    assert (count(session, MailInbound), count(session, MailRaw)) == (7, 7)
    assert count(session, MailMessage) == 0
    status = _status(api, session, owner)
    assert (status["waiting"], status["held"]) == (7, 0)
    assert {s["stream"]: s["items"] for s in status["streams"]} == {"archive": 7}

    run = Filing(session_factory, parse_message, batch_size=3).run(account.id)
    assert (run.status, run.items, run.errors) == ("ok", 7, 0)
    assert count(session, MailInbound) == 0
    assert count(session, TimelineEntry, TimelineEntry.client_id == client.id) == 7
    status = _status(api, session, owner)
    assert (status["waiting"], status["held"]) == (0, 0)
    assert {s["stream"]: (s["status"], s["items"]) for s in status["streams"]} == {
        "archive": ("ok", 7), "filing": ("ok", 7)}


def test_a_copy_that_cannot_be_filed_is_held_and_filed_later(session, session_factory,
                                                            mbox_account, api, monkeypatch):
    owner = f.user(session)
    account = mbox_account(owner, [mail(f"h{i}", CLIENT, [owner.email], f"Lasku {i}", "x")
                                   for i in range(5)])
    _fetch(session_factory, account)
    real = filing_module.file_one

    def broken(session, account, arrival, directory):
        if arrival.key == "h2@test":
            raise RuntimeError("disk full")
        return real(session, account, arrival, directory)

    monkeypatch.setattr(filing_module, "file_one", broken)
    monkeypatch.setattr(filing_module.bulk, "ingest", lambda *a: a[2])  # copy by copy
    first = Filing(session_factory, parse_message, batch_size=2)
    run = first.run(account.id)
    assert (run.status, run.items, run.errors) == ("ok", 4, 1)
    assert first.careful_batches == 1
    held = session.scalar(select(MailInbound))
    assert "disk full" in held.error
    assert count(session, MailMessage) == 4
    status = _status(api, session, owner)
    assert (status["waiting"], status["held"]) == (1, 1)

    monkeypatch.undo()
    run = Filing(session_factory, parse_message).run(account.id)
    assert (run.status, run.items, run.errors) == ("ok", 1, 0)
    assert (count(session, MailMessage), count(session, MailCopy),
            count(session, MailInbound), count(session, MailRaw)) == (5, 5, 0, 5)


def test_an_interrupted_filing_resumes_without_doing_anything_twice(session, session_factory,
                                                                   mbox_account):
    owner = f.user(session)
    client_with_contact(session)
    account = mbox_account(owner, [mail(f"r{i}", CLIENT, [owner.email], f"Palkat {i}", "x",
                                        reply_to=[f"r{i - 1}"] if i else None)
                                   for i in range(9)])
    _fetch(session_factory, account)
    batches = []

    def stop_after_two(stream: str, n: int) -> None:
        batches.append(n)
        if len(batches) == 2:
            raise KeyboardInterrupt  # the process is stopped: nothing below runs

    with pytest.raises(KeyboardInterrupt):
        Filing(session_factory, parse_message, batch_size=4).run(account.id, stop_after_two)
    assert count(session, MailMessage) == 8 and count(session, MailInbound) == 1
    [stopped] = session.scalars(select(SyncRun).where(SyncRun.stream == "filing")).all()
    assert (stopped.status, stopped.items) == ("running", 8)  # as far as it came

    # The next sync fetches nothing new, files the one left, and says what happened.
    fetch, run = sync_account(session_factory, account.id)
    assert (fetch.items, run.status, run.items) == (0, "ok", 1)
    session.refresh(stopped)
    assert stopped.status == "interrupted" and "last checkpoint" in stopped.message
    assert (count(session, MailMessage), count(session, MailCopy),
            count(session, TimelineEntry)) == (9, 9, 9)
    # One conversation, the last reply filed in a run of its own.
    assert session.scalar(select(func.count(func.distinct(MailMessage.thread_id)))) == 1


def test_parse_workers_file_what_parsing_here_files(database_url, second_database_url,
                                                   tmp_path):
    """The same mailbox filed with two parse worker processes and without: the same
    messages, threads and texts (Finnish and hostile mail included)."""
    import mailbox

    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account
    from hub.db import make_engine, make_session_factory

    raws = [mail(f"p{i}", CLIENT, ["mikko@firm.fi"], f"Tilinpäätös {i} äöå €", f"rivi {i} ö",
                 reply_to=[f"p{i - 1}"] if i % 3 else None) for i in range(40)]
    raws += [b"\x00\xff not mail", b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" * 50]
    path = tmp_path / "box.mbox"
    box = mailbox.mbox(path)
    for raw in raws:
        box.add(raw)
    box.close()
    seen = []
    for url, workers in ((database_url, 0), (second_database_url, 2)):
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            with factory() as session:
                owner = f.user(session)
                account = create_account(session, None, AccountIn(
                    kind="mail_archive", name="box", owner_user_id=owner.id,
                    settings={"path": str(path)}))
                session.commit()
                _fetch(factory, account)
            filing = Filing(factory, parse_message, batch_size=8, workers=workers, pool_from=1)
            run = filing.run(account.id)
            assert (run.status, run.items, run.errors) == ("ok", len(raws), 0)
            assert filing.parse_processes == workers
            with factory() as session:
                seen.append(sorted(
                    (m.message_key if not m.message_key.startswith("sha256:") else "-",
                     m.subject, m.text, m.parse_failed)
                    for m in session.scalars(select(MailMessage))))
        finally:
            engine.dispose()
    assert seen[0] == seen[1] and len(seen[0]) == len(raws)


def test_filing_batches_are_bounded_by_bytes_as_well_ascount(session, session_factory,
                                                             mbox_account):
    owner = f.user(session)
    client_with_contact(session)
    sizes = [100, 30_000, 30_000, 100, 70_000, 100]
    account = mbox_account(owner, [mail(f"b{i}", CLIENT, [owner.email], f"Liite {i}",
                                        "x" * size) for i, size in enumerate(sizes)])
    _fetch(session_factory, account)
    batches: list[int] = []
    run = Filing(session_factory, parse_message, batch_size=4, batch_bytes=50_000).run(
        account.id, lambda stream, n: batches.append(n))
    assert (run.status, run.items) == ("ok", 6)
    # 100 + 30k fit in 50k, another 30k would not; a 70k message is a batch by itself.
    assert batches == [2, 2, 1, 1]
    assert count(session, MailMessage) == 6 and count(session, MailInbound) == 0


def test_a_batch_whose_commit_fails_is_filed_copy_by_copy_with_its_records_right(
        session, session_factory, mbox_account, monkeypatch):
    """The set-based attempt gets as far as taking the batch off the queue before its
    commit fails; the careful retry must write each record's target again."""
    from hub.sync.models import SourceRecord

    owner = f.user(session)
    client_with_contact(session)
    account = mbox_account(owner, [mail(f"c{i}", CLIENT, [owner.email], f"Alv {i}", "x")
                                   for i in range(3)])
    _fetch(session_factory, account)
    failures = []
    real = filing_module.renew_lease

    def lease_once(session, account_id, holder):
        if not failures:
            failures.append(holder)
            raise RuntimeError("connection reset")
        return real(session, account_id, holder)

    monkeypatch.setattr(filing_module, "renew_lease", lease_once)
    filing = Filing(session_factory, parse_message)
    with Runner(session_factory, {}).leased(account.id) as holder:
        run = filing.run(account.id, holder=holder)
    assert (run.status, run.items, run.errors, filing.careful_batches) == ("ok", 3, 0, 1)
    session.expire_all()
    copies = {c.source_record_id: c.message_id for c in session.scalars(select(MailCopy))}
    targets = {r.id: r.target_id for r in session.scalars(
        select(SourceRecord).where(SourceRecord.kind == "message"))}
    assert len(copies) == 3 and targets == copies
