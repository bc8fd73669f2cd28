"""Archive formats, hostile mail stored raw, and threading edge cases."""

from __future__ import annotations

import mailbox

from sqlalchemy import func, select

from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.mail.models import MailMessage, MailRaw, MailThread
from hub.sync.models import SourceRecord
from tests import factories as f
from tests.mail.conftest import mail
from workers.sync import sync_account

HOSTILE = {
    "deep.eml": b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n".encode()
        for i in range(2000)),
    "parts.eml": b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n\r\n" * 200_000
    + b"--x--\r\n",
    "semicolons.eml": b"Subject: s\r\nContent-Type: text/plain" + b";" * 8000 + b"\r\n\r\nhi",
    "garbage.eml": bytes(range(256)) * 40,
    "empty.eml": b"",
    "names.eml": (b"From: a@b.fi\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
                  b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                  b"filename=\"../../etc/pa\x00sswd\"\r\n\r\nPDF\r\n--z--\r\n"),
    "charset.eml": (b"From: a@b.fi\r\nSubject: =?x-unknown?q?=E4iti?=\r\n"
                    b"Content-Type: text/plain; charset=klingon\r\n\r\n\xe4\xf6\xe5 \x80"),
    "html.eml": (b"From: a@b.fi\r\nContent-Type: text/html\r\n\r\n<p onclick=x()>hei</p>"
                 b"<script>alert(1)</script><svg><animate onbegin=alert(1)></svg>"
                 b"<a href=\"javascript:alert(1)\">x</a><img src=\"https://evil/p.png\">"),
}


def _archive(session, user, path, name="archive"):
    account = create_account(session, None, AccountIn(
        kind="mail_archive", name=name, owner_user_id=user.id, settings={"path": str(path)}))
    session.commit()
    return account


def test_hostile_mail_is_stored_raw_and_never_stops_a_sync(session, session_factory,
                                                            tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, raw in HOSTILE.items():
        (folder / name).write_bytes(raw)
    user = f.user(session)
    fetch, filing = sync_account(session_factory, _archive(session, user, folder).id)
    assert fetch.status == "ok" and fetch.items == len(HOSTILE) and fetch.errors == 0
    assert filing.status == "ok" and filing.items == len(HOSTILE) and filing.errors == 0
    assert filing.unparsed >= 1  # the empty one at least
    session.expire_all()
    raws = {r.raw for r in session.scalars(select(MailRaw))}
    assert raws == set(HOSTILE.values())
    html = session.scalar(select(MailMessage).where(MailMessage.html.contains("hei")))
    for bad in ("script", "onclick", "javascript:", "animate", "evil"):
        assert bad not in html.html
    shown = [a["filename"] for m in session.scalars(
        select(MailMessage).where(MailMessage.sender_address == "a@b.fi"))
        for a in m.attachments]
    assert shown and all("/" not in n and "\x00" not in n and ".." not in n for n in shown)


def test_eml_maildir_and_mbox_give_the_same_messages(session, session_factory, tmp_path):
    raws = [mail(f"a{i}", "Pia <pia@yritys.fi>", ["x@firm.fi"], f"Aihe {i}", "ö")
            for i in range(5)]
    eml = tmp_path / "eml"
    eml.mkdir()
    for i, raw in enumerate(raws):
        (eml / f"{i}.eml").write_bytes(raw)
    maildir = mailbox.Maildir(tmp_path / "md", create=True)
    mbox = mailbox.mbox(tmp_path / "box.mbox")
    for raw in raws:
        maildir.add(raw)
        mbox.add(raw)
    mbox.close()
    user = f.user(session)
    for path in (eml, tmp_path / "md", tmp_path / "box.mbox"):
        fetch, filing = sync_account(session_factory,
                                     _archive(session, user, path, path.name).id)
        assert (fetch.status, fetch.items, filing.status, filing.items) == ("ok", 5, "ok", 5)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(MailMessage)) == 5
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 15


def test_reply_before_parent_and_subject_fallback(session, session_factory, tmp_path):
    user = f.user(session)
    box = mailbox.mbox(tmp_path / "t.mbox")
    # The reply arrives first; its parent joins the same thread afterwards.
    box.add(mail("r2", "x@firm.fi", ["Pia <pia@yritys.fi>"], "Re: Palkat", "b",
                 reply_to=["r1"], days_ago=1))
    box.add(mail("r1", "Pia <pia@yritys.fi>", ["x@firm.fi"], "Palkat", "a", days_ago=2))
    # No References, same subject and the same two people: the same conversation.
    box.add(mail("r3", "Pia <pia@yritys.fi>", ["x@firm.fi"], "VS: Re: Palkat", "c"))
    # Same subject, other people: another thread.
    box.add(mail("o1", "Eero <eero@muu.fi>", ["y@firm.fi"], "Palkat", "d"))
    box.close()
    sync_account(session_factory, _archive(session, user, tmp_path / "t.mbox").id)
    session.expire_all()
    threads = {m.message_key: m.thread_id for m in session.scalars(select(MailMessage))}
    assert threads["r1@test"] == threads["r2@test"] == threads["r3@test"]
    assert threads["o1@test"] != threads["r1@test"]
    assert session.scalar(select(func.count()).select_from(MailThread)) == 2


def test_a_reply_naming_an_unseen_parent_is_not_threaded_by_subject(session, session_factory,
                                                                    tmp_path):
    """Two replies about two different invoices, each naming its own parent (not synced):
    the same subject and people do not make them one conversation."""
    user = f.user(session)
    box = mailbox.mbox(tmp_path / "l.mbox")
    box.add(mail("l1", "Pia <pia@yritys.fi>", ["x@firm.fi"], "Re: Lasku", "1",
                 reply_to=["p1"], days_ago=3))
    box.add(mail("l2", "Pia <pia@yritys.fi>", ["x@firm.fi"], "Re: Lasku", "2",
                 reply_to=["p2"], days_ago=2))
    box.add(mail("l3", "x@firm.fi", ["Pia <pia@yritys.fi>"], "Re: Lasku", "3",
                 reply_to=["p1", "l1"], days_ago=1))
    box.close()
    sync_account(session_factory, _archive(session, user, tmp_path / "l.mbox").id)
    session.expire_all()
    threads = {m.message_key: m.thread_id for m in session.scalars(select(MailMessage))}
    assert threads["l1@test"] == threads["l3@test"] != threads["l2@test"]
