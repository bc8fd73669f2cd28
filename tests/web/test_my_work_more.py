"""My work beyond the client lists: mail and drive folders waiting for me, notes that
mention me, and what changed since I last looked - in a real browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.access.policy import Principal
from hub.clients.models import Client
from hub.db import make_session_factory
from hub.drive.models import DriveFolder
from hub.mail.models import MailParticipant
from hub.staff.models import User
from hub.timeline.schemas import NoteIn
from hub.timeline.service import add_note
from tests import factories as f
from tests.web.conftest import screenshot, sign_in
from tests.web.test_accessibility import _violations


def _section(page, heading):
    return page.locator("section", has=page.get_by_role("heading", name=heading, level=2))


def _changes(page):
    """Rows of "what changed": (client, count of new entries)."""
    rows = _section(page, "Mitä on tapahtunut edellisen käyntini jälkeen").locator("tbody tr")
    return [(row.locator("td").nth(1).inner_text(),
             row.locator(".new-count").inner_text()) for row in rows.all()]


def _unmatched_message(session, owner: User, subject: str, sender: str):
    mailbox = f.account(session, owner, kind="mail_archive")
    message = f.message(session, mailbox, sent_at=datetime.now(UTC) - timedelta(hours=2))
    message.subject, message.sender_name, message.sender_address = (
        subject, "Kalle Uusi", sender)
    session.add_all([  # as filing records them
        MailParticipant(message_id=message.id, role="from", address=sender,
                        domain=sender.split("@")[1], name="Kalle Uusi"),
        MailParticipant(message_id=message.id, role="to", address=owner.email,
                        domain=owner.email.split("@")[1], name=owner.name)])
    return message


def _unmapped_folder(session, owner: User, name: str) -> None:
    drive = f.account(session, owner, kind="local")
    session.add(DriveFolder(account_id=drive.id, path=f"{name}/", parent="", name=name))


def _note(session, author: User, client_id: int, text: str) -> None:
    add_note(session, Principal.of(author), client_id, NoteIn(text=text), datetime.now(UTC))


def _fill(served) -> dict[str, int]:
    """Liisa's mail and folder waiting; Mikko's note mentioning her on the client she
    covers; Outi's note mentioning her on a client she may not see."""
    firm = served.firm
    with make_session_factory(served.engine)() as session:
        liisa, mikko, outi = (session.get(User, p.id) for p in (firm.liisa, firm.mikko,
                                                                  firm.outi))
        mail = _unmatched_message(session, liisa, "Tarjouspyyntö kirjanpidosta",
                                  "kalle@uusiyritys.test")
        f.message(session, f.account(session, liisa, kind="mail_archive"),
                  to=session.get(Client, firm.clients["Kahvila Aalto Oy"]))  # matched
        _unmapped_folder(session, liisa, "Uusi Yritys Oy")
        _note(session, mikko, firm.clients["Rakennus Mäkinen Oy"],
              "@liisa tarkista marraskuun palkat ennen maksupäivää")
        _note(session, outi, firm.clients["Outin Oma Oy"], "@liisa salainen asia")
        session.commit()
        return {"thread": mail.thread_id}


def test_unmatched_mail_appears_and_opens_its_thread(tab, served):
    made = _fill(served)
    page = tab.page
    sign_in(page, served.firm.liisa)
    waiting = _section(page, "Asiakkaaseen liittämättömät viestit")
    assert waiting.get_by_text("kalle@uusiyritys.test").is_visible()
    # The message linked to Kahvila Aalto Oy does not wait.
    assert waiting.locator("li").count() == 1
    link = waiting.get_by_role("link", name="Tarjouspyyntö kirjanpidosta")
    assert link.get_attribute("href") == f"/threads/{made['thread']}"
    with page.expect_navigation():
        link.click()
    assert page.url == f"{served.url}/threads/{made['thread']}"
    assert page.get_by_role("heading", name="Tarjouspyyntö kirjanpidosta",
                            level=1).is_visible()


def test_an_unmapped_folder_of_my_drive_appears(tab, served):
    _fill(served)
    page = tab.page
    sign_in(page, served.firm.liisa)
    folders = _section(page, "Asiakkaaseen liittämättömät kansiot")
    assert folders.get_by_text("Uusi Yritys Oy/").is_visible()
    # Outi has no drive of her own: nothing waits for her.
    other = page.context.browser.new_context(base_url=served.url, locale="fi-FI")
    try:
        outi = sign_in(other.new_page(), served.firm.outi)
        assert "Jokainen asemiesi kansio kuuluu jollekin asiakkaalle." in _section(
            outi, "Asiakkaaseen liittämättömät kansiot").inner_text()
    finally:
        other.close()


def test_a_note_mentioning_me_appears_only_where_i_may_see_the_client(tab, served):
    _fill(served)
    page = tab.page
    sign_in(page, served.firm.liisa)
    mentions = _section(page, "Muistiinpanot, joissa minut mainitaan")
    items = mentions.locator("li")
    assert items.count() == 1
    text = items.first.inner_text()
    assert "Rakennus Mäkinen Oy" in text and "Mikko Mäkinen" in text
    assert "tarkista marraskuun palkat" in text
    assert "salainen" not in page.content() and "Outin Oma Oy" not in page.content()
    with served.engine.connect() as conn:
        audited = conn.execute(select(AuditEntry.client_id).where(
            AuditEntry.action == "mentions.read",
            AuditEntry.actor_user_id == served.firm.liisa.id)).scalars().all()
    assert audited == [served.firm.clients["Rakennus Mäkinen Oy"]]
    assert items.first.get_by_role("link", name="Rakennus Mäkinen Oy").get_attribute(
        "href") == f"/clients/{served.firm.clients['Rakennus Mäkinen Oy']}"


def test_what_changed_shows_entries_since_my_last_visit_until_i_look_again(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    assert _changes(page) == []  # the first visit: nothing in the past week
    assert "kuluneen viikon aikana" in page.content()

    with make_session_factory(served.engine)() as session:
        mikko, outi = session.get(User, firm.mikko.id), session.get(User, firm.outi.id)
        rakennus = session.get(Client, firm.clients["Rakennus Mäkinen Oy"])
        kahvila = session.get(Client, firm.clients["Kahvila Aalto Oy"])
        _note(session, mikko, rakennus.id, "Verokortit saapuivat.")
        f.entry(session, kahvila, kind="message", source_kind="mail")
        f.entry(session, kahvila)
        private = f.entry(session, kahvila, kind="message", source_kind="mail",
                          owner=outi.id)  # Outi's private thread: hidden from Liisa
        private.is_private = True
        f.entry(session, session.get(Client, firm.clients["Outin Oma Oy"]))
        _note(session, session.get(User, firm.liisa.id), kahvila.id, "Oma muistiinpano.")
        session.commit()

    page.reload()
    # Kahvila Aalto Oy has the newest entry, so it comes first.
    assert _changes(page) == [("Kahvila Aalto Oy", "2"), ("Rakennus Mäkinen Oy", "1")]
    changes = _section(page, "Mitä on tapahtunut edellisen käyntini jälkeen")
    assert "viestejä: 1" in changes.inner_text() and "muistiinpanoja: 1" in changes.inner_text()
    assert "edellisen käyntini" in changes.locator(".hint").inner_text()
    screenshot(page, "my-work-changes")
    with served.engine.connect() as conn:
        audited = set(conn.execute(select(AuditEntry.client_id).where(
            AuditEntry.action == "timeline.changes",
            AuditEntry.actor_user_id == firm.liisa.id)).scalars())
    assert audited == {firm.clients["Kahvila Aalto Oy"], firm.clients["Rakennus Mäkinen Oy"]}

    page.reload()  # looked at: seen
    assert _changes(page) == []
    assert "Ei mitään uutta edellisen käyntisi jälkeen." in page.content()


def test_no_serious_accessibility_violation_with_every_section_filled(axe_tab, served):
    _fill(served)
    page = axe_tab.page
    sign_in(page, served.firm.liisa)
    with make_session_factory(served.engine)() as session:
        f.entry(session, session.get(Client, served.firm.clients["Kahvila Aalto Oy"]),
                kind="message", source_kind="mail")
        session.commit()
    page.reload()
    for heading in ("Mitä on tapahtunut edellisen käyntini jälkeen",
                    "Sijaistamani asiakkaat nyt", "Muistiinpanot, joissa minut mainitaan",
                    "Asiakkaaseen liittämättömät viestit",
                    "Asiakkaaseen liittämättömät kansiot", "Omat asiakkaat"):
        assert _section(page, heading).locator("li, tbody tr").count() > 0, heading
    assert _violations(page) == []
    screenshot(page, "my-work-full")
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert _violations(page) == []
    screenshot(page, "my-work-full-en")
