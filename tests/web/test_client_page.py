"""The client page in a real browser: what a covering colleague reads there (people,
timeline, mail threads, file batches, notes), filtering, searching, loading more, writing
a note with an @mention, a reader who may see less, keyboard use and axe-core's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.clients.models import Client
from hub.db import make_session_factory
from hub.staff.models import User
from hub.timeline.models import Mention, TimelineEntry
from tests import factories as f
from tests.web.conftest import screenshot, sign_in
from tests.web.test_accessibility import _violations

THREAD_SUBJECT = "Tilinpäätöksen aineisto 2025"


def _seed_timeline(served):
    """On Mikko's client Rakennus Mäkinen Oy: a mail thread of two messages, a batch of
    three files added, and Mikko's note asking for the payroll material."""
    firm = served.firm
    with make_session_factory(served.engine)() as session:
        client = session.get(Client, firm.clients["Rakennus Mäkinen Oy"])
        mikko = session.get(User, firm.mikko.id)
        mailbox = f.account(session, mikko)
        base = datetime.now(UTC) - timedelta(days=3)
        first = f.message(session, mailbox, to=client, sent_at=base)
        reply = f.message(session, mailbox, to=client, sent_at=base + timedelta(hours=2))
        reply.thread_id = first.thread_id
        for message, sender in ((first, "toimitusjohtaja@makinen.test"),
                                (reply, firm.mikko.email)):
            entry = session.scalar(select(TimelineEntry).where(
                TimelineEntry.source_ref == f"mail:{message.id}"))
            entry.occurred_at, entry.title = message.sent_at, THREAD_SUBJECT
            entry.summary = "Liitteenä tiliotteet joulukuulta"
            entry.extra = {"message_id": message.id, "participants": [sender]}
        session.add(TimelineEntry(
            client_id=client.id, kind="file_activity", source_kind="drive",
            source_ref="drive:batch-1", occurred_at=base + timedelta(days=1),
            title="3 files added to Kirjanpito/2026", owner_user_id=mikko.id,
            owner_ids=[mikko.id],
            extra={"action": "added", "count": 3, "folder": "Kirjanpito/2026",
                   "names": ["tiliote-12.pdf", "kuitit.zip", "palkat.xlsx"]}))
        session.add(TimelineEntry(
            client_id=client.id, kind="note", source_kind="note", source_ref="note:1",
            occurred_at=base + timedelta(days=2), actor_user_id=mikko.id,
            title="Pyydetty palkka-aineisto",
            summary="Pyydetty palkka-aineisto", body="Pyydetty palkka-aineisto\n"
            "Asiakas lupasi toimittaa perjantaina."))
        session.commit()
        return client.id, first.thread_id


def _entries(page):
    return page.locator("#timeline li.entry")


def test_a_covered_client_from_my_work_shows_people_and_the_timeline(tab, served):
    client_id, thread_id = _seed_timeline(served)
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    covered = page.locator("section",
                           has=page.get_by_role("heading", name="Sijaistamani asiakkaat nyt"))
    covered.get_by_role("link", name="Rakennus Mäkinen Oy").click()
    assert page.get_by_role("heading", name="Rakennus Mäkinen Oy", level=1).is_visible()
    assert page.url == f"{served.url}/clients/{client_id}"

    people = page.locator("section", has=page.get_by_role("heading", name="Vastuuhenkilöt"))
    assert "Mikko Mäkinen" in people.inner_text()
    assert "Poissa: sinä sijaistat" in people.inner_text()

    rows = _entries(page)
    assert rows.count() == 3  # the note, the file batch, and the thread as one row
    note, files, thread = rows.nth(0), rows.nth(1), rows.nth(2)
    assert "Pyydetty palkka-aineisto" in note.inner_text()
    assert "Asiakas lupasi toimittaa perjantaina." in note.inner_text()
    assert "Mikko Mäkinen" in note.inner_text()
    assert "Tiedostoja lisätty: 3" in files.inner_text()
    assert not files.get_by_text("kuitit.zip").is_visible()  # collapsed until opened
    files.locator("summary").click()
    assert files.get_by_text("kuitit.zip").is_visible()
    link = thread.get_by_role("link", name=THREAD_SUBJECT)
    assert link.get_attribute("href") == f"/threads/{thread_id}"
    assert "Viestejä: 2" in thread.inner_text()
    assert "toimitusjohtaja@makinen.test" in thread.inner_text()
    assert page.get_by_role("note").count() == 0  # full access: nothing hidden to explain
    screenshot(page, "client-page")
    assert tab.console_errors == []


def _add_notes(served, client_name, count, *, start_days_ago=30):
    with make_session_factory(served.engine)() as session:
        client_id = served.firm.clients[client_name]
        base = datetime.now(UTC) - timedelta(days=start_days_ago)
        for n in range(count):
            session.add(TimelineEntry(
                client_id=client_id, kind="note", source_kind="note", source_ref=f"bulk:{n}",
                occurred_at=base + timedelta(hours=n), actor_user_id=served.firm.liisa.id,
                title=f"Muistiinpano {n:02d}", summary="", body=f"Muistiinpano {n:02d}\nrivi"))
        session.commit()
        return client_id


def _wait_rows(page, count):
    page.wait_for_function(
        f"() => document.querySelectorAll('#timeline li.entry').length === {count}")


def test_the_kind_filter_swaps_the_list_in_place(tab, served):
    client_id, _ = _seed_timeline(served)
    page = sign_in(tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    assert _entries(page).count() == 3
    page.get_by_label("Tiedostot").check()
    _wait_rows(page, 1)
    assert "Tiedostoja lisätty: 3" in _entries(page).first.inner_text()
    assert page.url.endswith(f"/clients/{client_id}?show=files&q=")  # the address says so
    page.get_by_label("Sähköposti").check()
    page.wait_for_function(
        "() => document.querySelector('#timeline li.entry').className.includes('thread')")
    assert _entries(page).count() == 1
    page.get_by_label("Muistiinpanot").check()
    page.wait_for_function(
        "() => document.querySelector('#timeline li.entry').className.includes('note')")
    page.get_by_label("Kaikki").check()
    _wait_rows(page, 3)
    # The address opens the same filter in a new tab, without htmx.
    page.goto(f"/clients/{client_id}?show=files")
    assert _entries(page).count() == 1
    assert page.get_by_label("Tiedostot").is_checked()
    assert tab.console_errors == []


def test_scrolling_to_the_end_loads_more_and_the_link_does_the_same(tab, served):
    client_id = _add_notes(served, "Kahvila Aalto Oy", 70)
    page = sign_in(tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    assert _entries(page).first.inner_text().count("Muistiinpano 69") == 1  # newest first
    more = page.locator("#timeline .timeline-more a")
    assert more.get_attribute("href").startswith(f"/clients/{client_id}?show=all&q=&before=")
    page.wait_for_timeout(300)
    assert _entries(page).count() in (30, 60)  # revealed: it may have loaded once already
    more.focus()  # from the keyboard: the focus goes on to the first entry it brought
    page.keyboard.press("Enter")
    _wait_rows(page, 60)
    page.wait_for_function("() => document.activeElement.matches('li.entry')")
    assert "Muistiinpano 39" in page.evaluate("() => document.activeElement.innerText")
    page.locator("#timeline .timeline-more a").scroll_into_view_if_needed()
    _wait_rows(page, 70)
    assert page.locator("#timeline .timeline-more").count() == 0
    titles = [t.inner_text() for t in page.locator("#timeline .entry-title").all()]
    assert titles == [f"Muistiinpano {n:02d}" for n in reversed(range(70))]
    assert page.url == f"{served.url}/clients/{client_id}"  # in place

    # Without the script the link is a page of its own: the next entries, and a way back.
    page.goto(f"/clients/{client_id}")
    page.goto(page.locator("#timeline .timeline-more a").get_attribute("href"))
    assert _entries(page).first.inner_text().count("Muistiinpano 39") == 1
    assert page.get_by_role("link", name="Takaisin uusimpiin tapahtumiin").is_visible()
    assert tab.console_errors == []


def test_the_search_box_finds_within_this_clients_timeline(tab, served):
    client_id, _ = _seed_timeline(served)
    page = sign_in(tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    search = page.get_by_label("Hae asiakkaan aikajanalta")
    search.fill("TILIOT")  # in the thread's message text, in another case
    _wait_rows(page, 1)
    assert THREAD_SUBJECT in _entries(page).first.inner_text()
    search.fill("perjantaina")  # in the note's body
    page.wait_for_function(
        "() => document.querySelector('#timeline li.entry').className.includes('note')")
    assert _entries(page).count() == 1
    assert page.url.endswith(f"/clients/{client_id}?show=all&q=perjantaina")
    search.fill("ei mitään tällaista")
    page.get_by_text('Asiakkaan aikajanalta ei löytynyt hakua "ei mitään tällaista"').wait_for()
    screenshot(page, "client-page-search")
    # The search keeps to this client: another client's notes are not found here.
    _add_notes(served, "Tilausajo Saarinen Ky", 1)
    search.fill("Muistiinpano 00")
    page.get_by_text('Asiakkaan aikajanalta ei löytynyt hakua "Muistiinpano 00"').wait_for()
    assert tab.console_errors == []


def test_a_note_with_an_at_mention_picked_from_suggestions_shows_at_the_top(tab, served):
    client_id, _ = _seed_timeline(served)
    page = sign_in(tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    note = page.get_by_label("Muistiinpano", exact=True)
    note.click()
    note.press_sequentially("Soitin asiakkaalle, @mik")
    options = page.get_by_role("listbox", name="Mainittavat kollegat")
    options.get_by_role("option").first.wait_for()
    assert [o.inner_text() for o in options.get_by_role("option").all()] == [
        "Mikko Mäkinen mikko@tilitoimisto.test"]
    assert note.get_attribute("aria-activedescendant") == f"mention-option-{served.firm.mikko.id}"
    screenshot(page, "client-page-mention")
    note.press("Enter")  # picks the colleague; the note gets no new line
    assert options.is_hidden()
    assert note.input_value() == "Soitin asiakkaalle, @mikko@tilitoimisto.test "
    note.press_sequentially("tarkista palkat.")
    with page.expect_navigation():
        page.get_by_role("button", name="Tallenna muistiinpano").click()
    top = _entries(page).first
    assert "Soitin asiakkaalle, @mikko@tilitoimisto.test tarkista palkat." in top.inner_text()
    assert "kirjoittanut Liisa Laine" in top.inner_text()
    assert "mainitsee: Mikko Mäkinen" in top.inner_text()
    with make_session_factory(served.engine)() as session:
        entry = session.scalar(select(TimelineEntry).where(
            TimelineEntry.client_id == client_id, TimelineEntry.actor_user_id
            == served.firm.liisa.id))
        assert [m.user_id for m in session.scalars(
            select(Mention).where(Mention.entry_id == entry.id))] == [served.firm.mikko.id]
    assert page.url.endswith(f"/clients/{client_id}#entry-{entry.id}")
    assert tab.console_errors == []


def test_a_subject_reader_sees_titles_without_bodies_and_why(tab, served):
    client_id, _ = _seed_timeline(served)
    with make_session_factory(served.engine)() as session:
        rule = f.rule(session, "staff", "subject")
        session.commit()
        rule_id = rule.id
    page = sign_in(tab.page, served.firm.outi, start=f"/clients/{client_id}")
    assert page.get_by_role("heading", name="Rakennus Mäkinen Oy", level=1).is_visible()
    why = page.get_by_role("note")
    assert "Näet vain aiheet" in why.inner_text()
    assert f"käyttöoikeussääntöön {rule_id}, joka koskee koko henkilöstöä" in why.inner_text()
    rows = _entries(page)
    assert rows.count() == 3
    assert "Pyydetty palkka-aineisto" in rows.nth(0).inner_text()  # the note's title
    assert "perjantaina" not in page.content()  # its body
    assert "Liitteenä tiliotteet" not in page.content()  # the message's text
    assert THREAD_SUBJECT in rows.nth(2).inner_text()
    assert page.get_by_role("button", name="Tallenna muistiinpano").count() == 0
    screenshot(page, "client-page-subject-reader")
    # Searching finds titles only, never what the level hides.
    page.get_by_label("Hae asiakkaan aikajanalta").fill("perjantaina")
    page.get_by_text('Asiakkaan aikajanalta ei löytynyt hakua "perjantaina"').wait_for()
    # A note posted anyway is refused.
    with make_session_factory(served.engine)() as session:
        before = session.scalar(select(TimelineEntry.id).order_by(TimelineEntry.id.desc()))
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(f"/clients/{client_id}/notes",
                               form={"csrf_token": token, "text": "yritys"})
    assert answer.status == 403
    with make_session_factory(served.engine)() as session:
        assert session.scalar(select(TimelineEntry.id).order_by(
            TimelineEntry.id.desc())) == before
    assert tab.console_errors == []


def _tab_until(page, selector, limit=40):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_filter_search_and_a_note(tab, served):
    client_id, _ = _seed_timeline(served)
    page = sign_in(tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    page.locator("body").focus()
    _tab_until(page, "#note-text")
    page.keyboard.type("Muistutus tilinpäätöksestä @Mikk")
    page.get_by_role("option", name="Mikko Mäkinen").wait_for()
    page.keyboard.press("Tab")  # picks, as Enter does
    page.keyboard.type("soita.")
    _tab_until(page, "button.primary")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Muistutus tilinpäätöksestä @mikko@tilitoimisto.test soita." in \
        _entries(page).first.inner_text()
    assert "mainitsee: Mikko Mäkinen" in _entries(page).first.inner_text()

    page.locator("body").focus()
    _tab_until(page, "input[name=show]")
    assert page.evaluate("() => document.activeElement.value") == "all"
    page.keyboard.press("ArrowRight")  # the next kind: mail
    page.wait_for_function(
        "() => document.querySelectorAll('#timeline li.entry').length === 1")
    assert "entry-thread" in _entries(page).first.get_attribute("class")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "timeline-q"
    page.keyboard.type("ei löydy")
    page.keyboard.press("Enter")
    page.get_by_text('Asiakkaan aikajanalta ei löytynyt hakua "ei löydy"').wait_for()
    assert tab.console_errors == []


def test_no_serious_violation_on_the_client_page(axe_tab, served):
    client_id, _ = _seed_timeline(served)
    page = sign_in(axe_tab.page, served.firm.liisa, start=f"/clients/{client_id}")
    page.locator("#timeline details summary").first.click()
    assert _violations(page) == []
    note = page.get_by_label("Muistiinpano", exact=True)
    note.click()
    note.press_sequentially("@l")
    page.get_by_role("option").first.wait_for()
    assert _violations(page) == []  # with the suggestions open
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert _violations(page) == []
    with make_session_factory(served.engine)() as session:
        f.rule(session, "staff", "metadata")
        session.commit()
    other = sign_in(axe_tab.page.context.browser.new_context(
        base_url=served.url, locale="fi-FI", bypass_csp=True).new_page(), served.firm.outi,
        start=f"/clients/{client_id}")
    try:
        assert "Näet vain ajat ja osallistujat" in other.get_by_role("note").inner_text()
        assert _violations(other) == []
        screenshot(other, "client-page-metadata-reader")
    finally:
        other.context.close()
