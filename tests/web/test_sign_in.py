"""Signing in and out in a real browser: the cookie's flags, the refusals a person reads,
the rate limit shared by server processes, CSRF refusals, and a deactivated colleague's
session ending at once."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
from sqlalchemy import select, update

from hub.staff.models import User, WebSession
from tests.web.conftest import ADDRESS_LIMIT, screenshot, serve, sign_in, web_settings

WRONG = "Sähköposti tai salasana on väärin. Tarkista molemmat ja yritä uudelleen."
THROTTLED = re.compile(r"Liian monta epäonnistunutta kirjautumista\. Yritä uudelleen kello "
                       r"\d{1,2}\.\d{2} \(\d+ minuutin päästä\)\.")


def _session_cookie(page):
    return next(c for c in page.context.cookies() if c["name"] == "clienthub_session")


def test_a_stranger_signs_in_is_sent_back_and_signs_out(tab, served):
    page, liisa = tab.page, served.firm.liisa
    page.goto("/clients?q=kahvila")
    assert page.url.endswith("/login?next=%2Fclients%3Fq%3Dkahvila")
    assert page.locator("html").get_attribute("lang") == "fi"
    screenshot(page, "login")

    sign_in(page, liisa, "väärä salasana", start=None)
    assert page.get_by_role("alert").inner_text() == WRONG
    assert page.get_by_label("Sähköposti").input_value() == liisa.email  # kept, not retyped

    sign_in(page, liisa, start=None)
    assert page.url == f"{served.url}/clients?q=kahvila"
    assert page.get_by_text(liisa.name).is_visible()
    cookie = _session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    with served.engine.connect() as conn:  # only the id's hash is kept
        assert conn.execute(select(WebSession.session_hash)).scalars().all() == [
            hashlib.sha256(cookie["value"].encode()).hexdigest()]

    page.get_by_role("button", name="Kirjaudu ulos").click()
    page.wait_for_url("**/login")
    assert not [c for c in page.context.cookies() if c["name"] == "clienthub_session"]
    page.goto("/")
    assert "/login?next=%2F" in page.url
    with served.engine.connect() as conn:
        assert conn.execute(select(WebSession.id)).all() == []
    assert tab.console_errors == []


def test_a_next_address_elsewhere_is_not_followed(tab, served):
    page = tab.page
    sign_in(page, served.firm.liisa, start="/login?next=//evil.test/x")
    assert page.url == f"{served.url}/"
    sign_in(page, served.firm.liisa, start="/login?next=https://evil.test/")
    assert page.url == f"{served.url}/"


def test_repeated_failures_lock_the_email_and_say_until_when(tab, served):
    page, liisa = tab.page, served.firm.liisa
    for _ in range(4):
        sign_in(page, liisa, "väärä salasana", start="/login")
        assert page.get_by_role("alert").inner_text() == WRONG
    sign_in(page, liisa, "väärä salasana", start="/login")  # the fifth: locked now
    assert THROTTLED.fullmatch(page.get_by_role("alert").inner_text())
    sign_in(page, liisa, start="/login")  # the right password waits too
    assert THROTTLED.fullmatch(page.get_by_role("alert").inner_text())
    screenshot(page, "login-throttled")
    # Another colleague at the same address is not locked by Liisa's typos...
    sign_in(page, served.firm.outi, start="/")
    assert page.get_by_role("heading", name="Omat työt").is_visible()


def test_failures_from_one_address_lock_it_across_server_processes(served):
    """Two servers on one database (as ``clienthub serve --workers 2`` runs): failures
    counted by one refuse sign-ins at the other."""
    firm = served.firm

    def attempt(http, email, password):
        form = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return http.post("/login", data={"email": email, "password": password,
                                         "csrf_token": token, "next": "/"})

    with (serve(served.engine, web_settings()) as other,
          httpx.Client(base_url=served.url) as first, httpx.Client(base_url=other) as second):
        for n in range(ADDRESS_LIMIT):
            answer = attempt(first if n % 2 else second, f"arvaus{n}@tilitoimisto.test",
                             "ei tämäkään")
            assert answer.status_code == (401 if n < ADDRESS_LIMIT - 1 else 429), answer.text
        for http in (first, second):
            refused = attempt(http, firm.anna.email, firm.anna.password)
            assert refused.status_code == 429
            assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
            assert THROTTLED.search(refused.text)


@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_a_form_post_without_the_session_token_is_refused(tab, served, token):
    page = sign_in(tab.page, served.firm.liisa)
    form = {"locale": "en", "next": "/"}
    if token == "wrong":
        form["csrf_token"] = "x" * 43
    refused = page.request.post("/language", form=form, max_redirects=0)
    assert refused.status == 403
    assert "Lomake on vanhentunut" in refused.text()
    with served.engine.connect() as conn:
        assert conn.execute(select(User.locale).where(User.id == served.firm.liisa.id)
                            ).scalar_one() == "fi"
    header = page.request.post("/language", form=form,
                               headers={"X-CSRF-Token": "y" * 43}, max_redirects=0)
    assert header.status == 403
    # The same post from the page itself (the form carries the token) goes through.
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", name="My work").is_visible()


def test_the_sign_in_form_needs_its_own_token(tab, served):
    page, liisa = tab.page, served.firm.liisa
    page.goto("/login")
    refused = page.request.post("/login", form={"email": liisa.email,
                                                "password": liisa.password},
                                max_redirects=0)
    assert refused.status == 403
    assert not [c for c in page.context.cookies() if c["name"] == "clienthub_session"]


def test_htmx_requests_carry_the_session_token(tab, served):
    page = sign_in(tab.page, served.firm.liisa)
    page.wait_for_function("() => window.htmx !== undefined")
    # A POST htmx makes from the page: the token comes from hx-headers on <body>.
    with page.expect_response(lambda r: r.url.endswith("/language")) as answer:
        page.evaluate("""() => htmx.ajax('POST', '/language',
                             {source: '#main', target: '#main', swap: 'none',
                              values: {locale: 'en', next: '/'}})""")
    assert answer.value.status == 303
    assert answer.value.request.headers["x-csrf-token"]
    with served.engine.connect() as conn:
        assert conn.execute(select(User.locale).where(User.id == served.firm.liisa.id)
                            ).scalar_one() == "en"


@pytest.mark.parametrize("how", ["the admin API", "a bare update"])
def test_a_deactivated_colleagues_session_ends_at_once(tab, served, how):
    page, liisa = tab.page, served.firm.liisa
    sign_in(page, liisa)
    assert page.get_by_role("heading", name="Omat työt").is_visible()
    if how == "the admin API":
        answer = httpx.delete(f"{served.url}/api/v1/users/{liisa.id}",
                              headers={"Authorization": f"Bearer {served.firm.admin_token}"})
        assert answer.status_code == 204, answer.text
        with served.engine.connect() as conn:  # the rows are gone, too
            assert conn.execute(select(WebSession.id)).all() == []
    else:
        with served.engine.begin() as conn:
            conn.execute(update(User).where(User.id == liisa.id).values(is_active=False))
    page.reload()
    assert "/login?" in page.url and "ended=1" in page.url
    assert page.get_by_role("alert").inner_text() == (
        "Istuntosi on päättynyt. Kirjaudu uudelleen jatkaaksesi.")
    sign_in(page, liisa, start=None)
    assert page.get_by_role("alert").inner_text() == WRONG
