"""``clienthub demo`` (what ``make demo`` runs) serves the web view at ``/``, and every
demo account it prints signs in there with the printed password - the README's first
command, as a newcomer tries it, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.demo_process import running_demo
from tests.web.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = re.compile(r"^(\S+@tilitoimisto-demo\.fi)\s+(\S+)\s+(.+?)\s*$")


@dataclass
class Demo:
    url: str
    output: str
    #: email -> (password, who they are), as printed.
    accounts: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        lines = running.lines
        accounts = {}
        for line in lines[next(i for i, ln in enumerate(lines) if "Sign in at" in ln):]:
            found = ACCOUNT.match(line)
            if found:
                accounts[found[1]] = (found[2], found[3])
        yield Demo(running.url, running.output, accounts)


def _sign_in(browser, demo: Demo, email: str):
    context = browser.new_context(base_url=demo.url, locale="fi-FI",
                                  viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/")
    page.get_by_label("Sähköposti").fill(email)
    page.get_by_label("Salasana").fill(demo.accounts[email][0])
    with page.expect_navigation():
        page.get_by_role("button", name="Kirjaudu sisään").click()
    return context, page, errors


def _section(page, heading):
    return page.locator("section", has=page.get_by_role("heading", name=heading, level=2))


def test_the_demo_prints_its_accounts_and_the_address_of_the_web_view(demo):
    assert f"Sign in at {demo.url}/" in demo.output
    assert set(demo.accounts) == {"anna.virtanen@tilitoimisto-demo.fi",
                                  "mikko.korhonen@tilitoimisto-demo.fi",
                                  "liisa.nieminen@tilitoimisto-demo.fi"}
    who = {email.split(".")[0]: text for email, (_pw, text) in demo.accounts.items()}
    assert "admin" in who["anna"] and "sick leave" in who["mikko"]
    assert "covers Mikko" in who["liisa"]


def test_the_covering_colleague_signs_in_with_the_printed_password_and_sees_my_work(
        browser, demo):
    context, page, errors = _sign_in(browser, demo, "liisa.nieminen@tilitoimisto-demo.fi")
    try:
        assert page.url == f"{demo.url}/"
        assert page.get_by_role("heading", name="Omat työt", level=1).is_visible()
        covered = _section(page, "Sijaistamani asiakkaat nyt").locator("tbody tr")
        assert covered.count() == 5  # Mikko's clients, while he is on sick leave
        assert "Mikko Korhonen" in covered.first.inner_text()
        assert _section(page, "Asiakkaaseen liittämättömät viestit").get_by_role(
            "link", name="Palkanlaskenta kahdelle kuljettajalle").is_visible()
        assert "@liisa huomioi palkat" in _section(
            page, "Muistiinpanot, joissa minut mainitaan").inner_text()
        # The first visit shows the week's new entries on her own and covered clients.
        assert _section(page, "Mitä on tapahtunut edellisen käyntini jälkeen").locator(
            "tbody tr").count() >= 5
        screenshot(page, "demo-my-work")
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("email", ["mikko.korhonen@tilitoimisto-demo.fi",
                                   "anna.virtanen@tilitoimisto-demo.fi"])
def test_every_printed_account_signs_in(browser, demo, email):
    context, page, errors = _sign_in(browser, demo, email)
    try:
        assert page.get_by_role("heading", name="Omat työt", level=1).is_visible()
        assert page.locator(".user-name").inner_text() == email.split("@")[0].replace(
            ".", " ").title()
        if email.startswith("anna"):
            # The admin's drive holds the shared client folders: those matching no client wait.
            assert _section(page, "Asiakkaaseen liittämättömät kansiot").locator(
                "li").count() >= 1
            assert page.get_by_role("link", name="Ylläpito").is_visible()
        assert errors == []
    finally:
        context.close()
