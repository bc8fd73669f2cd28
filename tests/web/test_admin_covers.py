"""Covers and users in the admin screens, in a real browser: a cover started in three
steps takes effect for the covering colleague at once (seen in a second browser), ending
it early takes the clients away again; passwords and deactivation; and axe-core's rules
on the three admin pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.access.models import AuditEntry, Cover
from hub.timeutil import in_firm_zone
from tests.web.conftest import PASSWORD, open_tab, screenshot, sign_in
from tests.web.test_accessibility import _violations

OUTI_CLIENT = "Outin Oma Oy"


def _covered_names(page):
    section = page.locator("section", has=page.get_by_role(
        "heading", name="Sijaistamani asiakkaat nyt"))
    return section.locator("tbody tr").all_inner_texts()


def _local(moment):
    return in_firm_zone(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_cover_started_in_three_steps_shows_the_clients_at_once_and_ending_it_hides_them(
        browser, tab, served):
    admin, firm = tab.page, served.firm
    client_url = f"/clients/{firm.clients[OUTI_CLIENT]}"
    colleague_tab = open_tab(browser, served)
    colleague = next(colleague_tab)
    try:
        liisa = sign_in(colleague.page, firm.liisa)
        assert not any(OUTI_CLIENT in row for row in _covered_names(liisa))
        assert liisa.goto(client_url).status == 404

        sign_in(admin, firm.anna, start="/admin/covers")
        # The cover running since yesterday (Mikko -> Liisa) is listed.
        listed = admin.locator("#covers tbody tr")
        assert listed.count() == 1
        assert "Mikko Mäkinen" in listed.first.inner_text()
        # 1. who is away: her clients come into step 2.
        admin.get_by_label("Poissaoleva").select_option(label="Outi Ojala")
        admin.get_by_label(OUTI_CLIENT).wait_for()
        # 2. who covers, only the ticked client.
        admin.get_by_label("Sijainen").select_option(label="Liisa Laine")
        admin.get_by_label("Vain alla valitut asiakkaat").check()
        admin.get_by_label(OUTI_CLIENT).check()
        # 3. until when.
        until = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
        admin.get_by_label("Päättyy").fill(_local(until))
        admin.get_by_label("Huomautus (vapaaehtoinen)").fill("Koulutuksessa")
        screenshot(admin, "admin-covers-form")
        with admin.expect_navigation():
            admin.get_by_role("button", name="Aloita sijaisuus").click()
        assert admin.get_by_role("status").inner_text().startswith(
            "Sijaisuus alkoi: Liisa Laine sijaistaa henkilöä Outi Ojala")
        assert admin.locator("#covers tbody tr").count() == 2
        screenshot(admin, "admin-covers")
        with served.engine.connect() as conn:
            cover = conn.execute(select(Cover).where(
                Cover.absent_user_id == firm.outi.id)).one()
            assert (cover.covering_user_id, cover.narrowed) == (firm.liisa.id, True)
            assert cover.valid_until.replace(tzinfo=UTC) == until
            assert conn.execute(select(AuditEntry.actor_user_id).where(
                AuditEntry.action == "cover.create")).scalars().all() == [firm.anna.id]

        # At once, for Liisa: My work lists the client, and its page opens.
        liisa.goto("/")
        assert any(OUTI_CLIENT in row and "Outi Ojala" in row for row in _covered_names(liisa))
        liisa.get_by_role("link", name=OUTI_CLIENT).click()
        assert liisa.get_by_role("heading", name=OUTI_CLIENT, level=1).is_visible()

        # End it early: gone from her My work, and the page is "not found" again.
        row = admin.locator("#covers tbody tr", has_text="Outi Ojala")
        with admin.expect_navigation():
            row.get_by_role("button", name="Päätä nyt").click()
        assert "Sijaisuus päättyi" in admin.get_by_role("status").inner_text()
        assert admin.locator("#covers tbody tr").count() == 1
        liisa.goto("/")
        assert not any(OUTI_CLIENT in row for row in _covered_names(liisa))
        assert liisa.goto(client_url).status == 404
        with served.engine.connect() as conn:
            ended = conn.execute(select(Cover.valid_until).where(
                Cover.absent_user_id == firm.outi.id)).scalar_one()
            assert ended.replace(tzinfo=UTC) <= datetime.now(UTC)  # kept on record, ended
        assert tab.console_errors == [] and colleague.console_errors == []
    finally:
        colleague_tab.close()


def test_a_cover_for_all_clients_and_a_refused_one(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.anna, start="/admin/covers")
    page.get_by_label("Poissaoleva").select_option(label="Liisa Laine")
    page.get_by_label("Sijainen").select_option(label="Liisa Laine")
    page.get_by_label("Päättyy").fill(_local(datetime.now(UTC) + timedelta(days=1)))
    page.get_by_role("button", name="Aloita sijaisuus").click()
    alert = page.get_by_role("alert")
    assert "Valitse sijainen" in alert.inner_text()
    # What was chosen stays chosen, so the admin only corrects the mistake.
    assert page.get_by_label("Poissaoleva").input_value() == str(firm.liisa.id)
    page.get_by_label("Sijainen").select_option(label="Outi Ojala")
    start = datetime.now(UTC) + timedelta(days=2)
    page.get_by_label("Alkaa").fill(_local(start))
    page.get_by_label("Päättyy").fill(_local(start + timedelta(days=5)))
    with page.expect_navigation():
        page.get_by_role("button", name="Aloita sijaisuus").click()
    upcoming = page.locator("#covers tbody tr", has_text="Liisa Laine")
    upcoming = upcoming.filter(has_text="Outi Ojala")
    assert "Kaikki hänen asiakkaansa" in upcoming.inner_text()
    assert "tulossa" in upcoming.inner_text()
    with page.expect_navigation():
        upcoming.get_by_role("button", name="Peru").click()
    assert page.locator("#covers tbody tr").count() == 1
    with served.engine.connect() as conn:
        assert conn.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("cover.%")).order_by(AuditEntry.id)).scalars().all() == [
            "cover.create", "cover.delete"]
    assert tab.console_errors == []


def test_users_add_set_a_password_and_deactivate_which_ends_the_session(browser, tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.anna, start="/admin/users")
    page.get_by_label("Nimi").fill("Pekka Pitkänen")
    page.get_by_label("Sähköposti").fill("pekka@tilitoimisto.test")
    page.get_by_label("Salasana (vapaaehtoinen: voit asettaa sen myöhemmin)").fill("lyhyt")
    page.get_by_label("Salasana (vapaaehtoinen: voit asettaa sen myöhemmin)").evaluate(
        "e => e.removeAttribute('minlength')")  # the server checks too
    page.get_by_role("button", name="Lisää käyttäjä").click()
    assert "vähintään 10 merkkiä" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("cell", name="pekka@tilitoimisto.test").count() == 0  # not stored
    page.get_by_label("Salasana (vapaaehtoinen: voit asettaa sen myöhemmin)").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Lisää käyttäjä").click()
    assert page.get_by_role("status").inner_text() == "Pekka Pitkänen lisättiin."
    screenshot(page, "admin-users")

    # Liisa is signed in elsewhere; a new password ends that session at once.
    other_tab = open_tab(browser, served)
    other = next(other_tab)
    try:
        liisa = sign_in(other.page, firm.liisa)
        page.get_by_label("Uusi salasana käyttäjälle Liisa Laine").fill("uusi pitkä salasana")
        with page.expect_navigation():
            page.get_by_role("button", name="Vaihda käyttäjän Liisa Laine salasana").click()
        assert "salasana on asetettu" in page.get_by_role("status").inner_text()
        liisa.goto("/")
        assert "/login" in liisa.url
        sign_in(liisa, firm.liisa, "uusi pitkä salasana", start=None)
        assert liisa.get_by_role("heading", name="Omat työt").is_visible()

        with page.expect_navigation():
            page.get_by_role("button", name="Poista käytöstä Liisa Laine").click()
        assert "kirjattu ulos kaikkialta" in page.get_by_role("status").inner_text()
        liisa.goto("/")
        assert "/login" in liisa.url
        with page.expect_navigation():
            page.get_by_role("button", name="Ota uudelleen käyttöön Liisa Laine").click()
        assert "on taas käytössä" in page.get_by_role("status").inner_text()
    finally:
        other_tab.close()
    assert tab.console_errors == []


@pytest.mark.parametrize("language", ["fi", "en"])
def test_no_serious_violation_on_the_admin_pages(axe_tab, served, language):
    page = sign_in(axe_tab.page, served.firm.anna, start="/admin/responsibilities")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert _violations(page) == []
    page.goto("/admin/covers")
    page.locator("#cover-absent").select_option(str(served.firm.mikko.id))
    page.locator("#cover-clients input[type=checkbox]").first.wait_for()
    assert _violations(page) == []
    page.goto("/admin/users")
    assert _violations(page) == []
    page.goto("/admin")
    assert _violations(page) == []
