"""A browser at an address no page has meets the web view's not-found page; the API and
clients that do not ask for HTML keep the API's JSON."""

from __future__ import annotations

import httpx

from tests.web.conftest import screenshot, sign_in

NOT_FOUND = "Ei löytynyt"


def test_an_unknown_address_shows_the_not_found_page_with_the_header_when_signed_in(
        tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    for address in ("/nonexistent", "/clients/abc", "/me/nothing/here"):
        answer = page.goto(address)
        assert answer.status == 404, address
        assert answer.headers["content-type"].startswith("text/html")
        assert page.get_by_role("heading", name=NOT_FOUND, level=1).is_visible()
        # The signed-in header, as on every page: the navigation and who is signed in.
        assert page.get_by_role("navigation", name="Päävalikko").get_by_role(
            "link", name="Omat työt").is_visible()
        assert page.locator(".user-name").inner_text() == firm.liisa.name
    screenshot(page, "unknown-address")
    page.get_by_role("link", name="Siirry Omiin töihin").click()
    page.get_by_role("heading", name="Omat työt", level=1).wait_for()
    assert tab.console_errors == []


def test_an_unknown_address_signed_out_shows_a_plain_not_found_page(tab, served):
    page = tab.page
    answer = page.goto("/nonexistent")
    assert answer.status == 404
    assert page.get_by_role("heading", name=NOT_FOUND, level=1).is_visible()
    assert page.get_by_role("navigation").count() == 0
    assert page.locator(".user-name").count() == 0
    screenshot(page, "unknown-address-signed-out")


def test_a_session_that_has_ended_shows_the_plain_page(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa)
    page.get_by_role("button", name="Kirjaudu ulos").click()
    page.wait_for_url("**/login")
    page.context.add_cookies([{"name": "clienthub_session", "value": "no-such-session",
                               "url": served.url}])
    assert page.goto("/nonexistent").status == 404
    assert page.get_by_role("heading", name=NOT_FOUND, level=1).is_visible()
    assert page.locator(".user-name").count() == 0


def test_the_api_and_clients_that_do_not_ask_for_html_keep_json(served):
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path, headers in (("/api/v1/nonexistent", html), ("/api", html),
                          ("/nonexistent", {"Accept": "application/json"}),
                          ("/nonexistent", {})):
        answer = httpx.get(served.url + path, headers=headers)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/json", (path, headers)
        assert answer.json() == {"error": {"message": "no such endpoint; see /docs for the API"}}
    page = httpx.get(served.url + "/nonexistent", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in page.headers
