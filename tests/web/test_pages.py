"""My work, clients, languages and keyboard use, in a real browser."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import select

from hub.db import make_session_factory
from hub.staff.models import User
from tests import factories as f
from tests.web.conftest import screenshot, sign_in

HELSINKI = ZoneInfo("Europe/Helsinki")


def _rows(page, table):
    return [[cell.inner_text() for cell in row.locator("td").all()]
            for row in page.locator(f"{table} tbody tr").all()]


def test_my_work_lists_my_clients_and_those_i_cover_with_whose_and_until(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    assert page.get_by_role("heading", name="Omat työt", level=1).is_visible()
    own = page.locator("section", has=page.get_by_role("heading", name="Omat asiakkaat"))
    covered = page.locator("section",
                           has=page.get_by_role("heading", name="Sijaistamani asiakkaat nyt"))
    until = format_datetime(firm.cover_ends, "short", tzinfo=HELSINKI, locale="fi_FI")
    assert [row[1:] for row in _rows(covered, "table")] == [
        ["Rakennus Mäkinen Oy", "Mikko Mäkinen", until],
        ["Tilausajo Saarinen Ky", "Mikko Mäkinen", until],
    ]
    assert [row[1] for row in _rows(own, "table")] == ["Kahvila Aalto Oy"]
    assert "Outin Oma Oy" not in page.content()
    screenshot(page, "my-work")

    covered.get_by_role("link", name="Rakennus Mäkinen Oy").click()
    assert page.get_by_role("heading", name="Rakennus Mäkinen Oy", level=1).is_visible()
    assert tab.console_errors == []


def test_a_client_the_viewer_may_not_see_answers_as_one_that_does_not_exist(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    hidden = page.goto(f"/clients/{firm.clients['Outin Oma Oy']}")
    hidden_text = page.locator("main").inner_text()
    missing = page.goto("/clients/987654321")
    assert hidden.status == missing.status == 404
    assert hidden_text == page.locator("main").inner_text()
    assert "Ei löytynyt" in hidden_text and "Outin" not in hidden_text
    screenshot(page, "not-found")
    assert page.goto("/clients/not-a-number").status == 404
    assert page.goto(f"/clients/{firm.clients['Kahvila Aalto Oy']}").status == 200
    # Only the admin sees the admin pages; others are told so.
    assert page.goto("/admin").status == 403
    assert page.get_by_role("link", name="Ylläpito").count() == 0


def test_the_language_switch_saves_english_and_back(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    assert page.locator("html").get_attribute("lang") == "fi"
    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{served.url}/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="My work", level=1).is_visible()
    until = format_datetime(firm.cover_ends, "short", tzinfo=HELSINKI, locale="en_GB")
    assert page.get_by_role("cell", name=until).count() == 2
    screenshot(page, "my-work-en")
    with served.engine.connect() as conn:
        assert conn.execute(select(User.locale).where(User.id == firm.liisa.id)
                            ).scalar_one() == "en"
    # Kept with the user, not the browser: a new browser signs in to English...
    other = page.context.browser.new_context(base_url=served.url, locale="fi-FI")
    try:
        again = sign_in(other.new_page(), firm.liisa)
        assert again.get_by_role("heading", name="My work").is_visible()
    finally:
        other.close()
    # ...until the switch says Finnish again, on whichever page it is used.
    page.goto("/clients")
    page.get_by_role("button", name="Suomi").click()
    page.wait_for_url(f"{served.url}/clients")
    assert page.get_by_role("heading", name="Asiakkaat", level=1).is_visible()


def test_the_client_search_narrows_the_list_in_place(tab, served):
    page = sign_in(tab.page, served.firm.liisa, start="/clients")
    assert len(_rows(page, "#client-results")) == 3  # her own and the two she covers
    page.get_by_label("Hae nimellä tai Y-tunnuksella").fill("saarinen")
    page.wait_for_function(
        "() => document.querySelectorAll('#client-results tbody tr').length === 1")
    assert _rows(page, "#client-results")[0][1] == "Tilausajo Saarinen Ky"
    assert page.url.endswith("/clients?q=saarinen")  # the address says what is shown
    screenshot(page, "clients-search")
    assert tab.console_errors == []


def test_show_more_brings_the_next_of_my_clients_below(tab, served):
    with make_session_factory(served.engine)() as session:
        liisa = session.get(User, served.firm.liisa.id)
        for n in range(105):
            f.responsibility(session, liisa, f.client(session, name=f"Asiakas {n:03d} Oy"))
        session.commit()
    page = sign_in(tab.page, served.firm.liisa)
    own = page.locator("#own-clients")
    assert own.locator("tbody tr:not(.more)").count() == 100
    page.get_by_role("link", name="Näytä lisää").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#own-clients tbody tr').length === 106")
    assert own.locator("tr.more").count() == 0
    assert page.url == f"{served.url}/"  # in place, not a new page
    assert tab.console_errors == []


def test_keyboard_reaches_the_skip_link_first_then_the_main_navigation(tab, served):
    page = sign_in(tab.page, served.firm.anna, start="/clients")
    page.keyboard.press("Tab")
    focused = page.evaluate_handle("document.activeElement")
    assert focused.get_property("textContent").json_value() == "Siirry pääsisältöön"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # shown while focused
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert order == ["Client Hub", "Omat työt", "Asiakkaat", "Ylläpito"]
    # Back to the skip link; it takes the focus past the header, into the main content.
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"  # the search box, in main
    page.goto("/admin/users")
    assert page.get_by_role("cell", name=served.firm.liisa.email).is_visible()
    screenshot(page, "admin")
