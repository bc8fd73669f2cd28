"""Search in a real browser: the header box, live hits grouped by kind, opening a hit;
what the viewer may not see is never shown; axe-core finds no serious violation."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.access.policy import Principal
from hub.db import make_session_factory
from hub.staff.models import User
from hub.timeline.schemas import NoteIn
from hub.timeline.service import add_note
from tests.web.conftest import screenshot, sign_in
from tests.web.test_accessibility import _violations


def _note(served, client: str, text: str) -> None:
    with make_session_factory(served.engine)() as session:
        liisa = session.get(User, served.firm.liisa.id)
        assert liisa is not None
        add_note(session, Principal.of(liisa), served.firm.clients[client], NoteIn(text=text),
                 datetime.now(UTC))
        session.commit()


def test_type_in_the_header_box_see_hits_by_kind_and_open_one(tab, served):
    page, firm = tab.page, served.firm
    _note(served, "Kahvila Aalto Oy", "Tilinpäätös 2025 valmis\nAllekirjoitukset puuttuvat.")
    sign_in(page, firm.liisa)
    box = page.get_by_role("search").get_by_label("Pikahaku")
    box.fill("kahvila")
    screenshot(page, "search-header-box")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.endswith("/search?q=kahvila")
    assert page.get_by_role("heading", name="Hae", level=1).is_visible()
    clients = page.locator("section", has=page.get_by_role("heading", name="Asiakkaat"))
    assert clients.get_by_role("link").all_inner_texts() == ["Kahvila Aalto Oy"]

    # The page's own box updates the hits as one types, without loading the page.
    page.evaluate("() => { window.stayed = true; }")
    field = page.get_by_label("Hae asiakkaista, yhteyshenkilöistä, sähköposteista, "
                              "muistiinpanoista ja tiedostojen nimistä")
    field.fill("tilinp")
    notes = page.locator("section", has=page.get_by_role("heading", name="Muistiinpanot"))
    notes.wait_for()
    assert notes.get_by_role("link").all_inner_texts() == ["Tilinpäätös 2025 valmis"]
    assert notes.locator("mark").all_inner_texts() == ["Tilinpäätös"]
    assert page.evaluate("() => window.stayed") is True
    screenshot(page, "search")

    # A client seen through a cover is found; another's client is not, as if absent.
    field.fill("outin")
    page.get_by_text("Haullasi ei löytynyt mitään").wait_for()
    field.fill("rakennus")
    hit = page.get_by_role("link", name="Rakennus Mäkinen Oy")
    hit.wait_for()
    hit.click()
    assert page.get_by_role("heading", name="Rakennus Mäkinen Oy", level=1).is_visible()
    assert tab.console_errors == []


def test_an_unseen_clients_name_finds_nothing(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    page.goto("/search?q=Outin+Oma")
    assert page.get_by_text("Haullasi ei löytynyt mitään").is_visible()
    assert "Outin Oma Oy" not in page.locator("main").inner_text()


def test_no_serious_violation_on_the_search_page(axe_tab, served):
    page = axe_tab.page
    _note(served, "Kahvila Aalto Oy", "Tilinpäätös 2025 valmis")
    sign_in(page, served.firm.liisa)
    assert _violations(page) == []  # the header's box on another page
    page.goto("/search?q=tilinp")
    page.get_by_role("heading", name="Muistiinpanot").wait_for()
    assert _violations(page) == []
    page.goto("/search?q=ei+mitaan+tallaista")
    assert _violations(page) == []
