"""A signed-in user changes their own password: the current one first, the new one twice
and long enough; their other browsers are signed out, this one stays; an audit row."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.staff import passwords
from hub.staff.models import LoginFailure, User
from tests.web.conftest import open_tab, screenshot, sign_in
from tests.web.test_accessibility import _violations

NEW = "kolme iloista kuormahevosta"


def _fill(page, current, new, again=None):
    page.get_by_label("Nykyinen salasana").fill(current)
    page.get_by_label("Uusi salasana", exact=True).fill(new)
    page.get_by_label("Uusi salasana uudelleen").fill(new if again is None else again)
    page.get_by_role("button", name="Vaihda salasana").click()


def _audit(served, action):
    with served.engine.connect() as conn:
        return conn.execute(select(AuditEntry.actor_user_id).where(
            AuditEntry.action == action)).scalars().all()


def test_changing_my_password_signs_out_my_other_browsers_and_keeps_this_one(
        browser, tab, served):
    page, firm = tab.page, served.firm
    other = open_tab(browser, served)
    elsewhere = next(other)
    try:
        sign_in(elsewhere.page, firm.liisa)
        sign_in(page, firm.liisa)
        page.get_by_role("link", name=firm.liisa.name).click()
        page.get_by_role("heading", name="Vaihda salasanasi", level=1).wait_for()
        _fill(page, firm.liisa.password, NEW)
        page.get_by_role("status").wait_for()
        assert "Salasanasi on vaihdettu" in page.get_by_role("status").inner_text()
        screenshot(page, "own-password-changed")
        # This browser stays signed in; the other one is sent to sign in again.
        assert page.goto("/").status == 200
        elsewhere.page.goto("/")
        assert "/login" in elsewhere.page.url
        assert _audit(served, "user.change_own_password") == [firm.liisa.id]
        assert tab.console_errors == []
    finally:
        other.close()  # closes that browser context

    # The new password signs in; the old one no longer does.
    page.get_by_role("button", name="Kirjaudu ulos").click()
    page.wait_for_url("**/login")
    sign_in(page, firm.liisa, firm.liisa.password, start=None)
    assert page.get_by_role("alert").is_visible()
    sign_in(page, firm.liisa, NEW, start=None)
    assert page.get_by_role("heading", name="Omat työt", level=1).is_visible()


def test_a_wrong_current_password_is_refused_and_counted(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa, start="/me/password")
    _fill(page, "ei tämä ole se oikea", NEW)
    alert = page.get_by_role("alert")
    assert "Nykyinen salasana on väärä" in alert.inner_text()
    assert page.get_by_label("Nykyinen salasana").get_attribute("aria-invalid") == "true"
    screenshot(page, "own-password-wrong")
    assert _audit(served, "user.change_own_password") == []
    # Counted as a refused sign-in, so a borrowed session guesses no faster than the
    # sign-in page lets anyone.
    with served.engine.connect() as conn:
        assert conn.execute(select(LoginFailure.email)).scalars().all() == [firm.liisa.email]
    # The old password still works: nothing was changed.
    with served.engine.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(
            User.id == firm.liisa.id)).scalar_one()
    assert passwords._matches(stored, firm.liisa.password)


def test_new_passwords_that_differ_or_are_too_short_are_refused(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa, start="/me/password")
    _fill(page, firm.liisa.password, NEW, again=NEW + "x")
    assert "eroavat" in page.get_by_role("alert").inner_text()
    # The browser holds a short one back (minlength); the server refuses it too.
    short = "lyhyt"
    for field in ("#new-password", "#new-password-again"):
        page.locator(field).evaluate("e => e.removeAttribute('minlength')")
    _fill(page, firm.liisa.password, short)
    assert (f"vähintään {passwords.MIN_LENGTH} merkkiä"
            in page.get_by_role("alert").inner_text())
    assert _audit(served, "user.change_own_password") == []


def test_the_password_page_has_no_serious_accessibility_violation(axe_tab, served):
    page = axe_tab.page
    sign_in(page, served.firm.liisa, start="/me/password")
    assert _violations(page) == []
    _fill(page, "väärä salasana tässä", NEW)
    page.get_by_role("alert").wait_for()
    assert _violations(page) == []
