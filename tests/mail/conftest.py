from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def client_with_contact(session, email="jari@rakennusmakinen.fi", domain=None):
    """Rakennus Mäkinen Oy with Jari as its contact (and a mail domain, if given)."""
    from hub.clients.models import ClientDomain, Contact, ContactEmail
    from tests import factories as f

    client = f.client(session, name="Rakennus Mäkinen Oy")
    client.contacts = [Contact(name="Jari", emails=[ContactEmail(email=email)])]
    if domain:
        client.domains = [ClientDomain(domain=domain)]
    session.commit()
    return client


def count(session, model, *where) -> int:
    """Rows of ``model`` now in the database (what this session holds is read anew)."""
    from sqlalchemy import func, select

    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def mail(key: str, sender: str, to: list[str], subject: str, text: str, *, cc=(),
         reply_to: list[str] | None = None, days_ago: float = 1) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Date"] = format_datetime(NOW - timedelta(days=days_ago))
    msg["Message-ID"] = f"<{key}@test>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to[-1]}@test>"
        msg["References"] = " ".join(f"<{r}@test>" for r in reply_to)
    msg.set_content(text)
    return msg.as_bytes()


@pytest.fixture
def mbox_account(session, tmp_path):
    """Makes an archive account for a user from a list of raw messages (granted as an
    admin grants one: from the command line, naming its owner)."""
    def make(user, messages: list[bytes], name: str = "box", share_level: str = "full"):
        path: Path = tmp_path / f"{name}-{user.id}.mbox"
        box = mailbox.mbox(path)
        for raw in messages:
            box.add(raw)
        box.close()
        account = create_account(session, None, AccountIn(
            kind="mail_archive", name=name, owner_user_id=user.id,
            settings={"path": str(path)}, share_level=share_level))
        session.commit()
        return account

    return make
