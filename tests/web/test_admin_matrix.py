"""The responsibilities matrix in a real browser: a click (or Enter or Space) on a cell
adds or removes a role through the responsibility service, the filters narrow the rows
and stay in the address, and the export holds what the filters show."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.clients.models import Responsibility
from hub.db import make_session_factory
from hub.staff.models import User
from tests import factories as f
from tests.web.conftest import screenshot, sign_in

ROWS = "#matrix tbody tr:not(.more)"


def _client_names(page):
    return [row.locator("th").inner_text().split("\n")[0].strip()
            for row in page.locator(ROWS).all()]


def _wait_rows(page, count):
    page.wait_for_function(
        "n => document.querySelectorAll('#matrix tbody tr:not(.more)').length === n", arg=count)


def _held(served, client_id, user_id, role):
    with served.engine.connect() as conn:
        return conn.execute(select(Responsibility.valid_from, Responsibility.valid_until).where(
            Responsibility.client_id == client_id, Responsibility.user_id == user_id,
            Responsibility.role == role)).all()


def _api_roles(served, client_id, user_id):
    answer = httpx.get(f"{served.url}/api/v1/responsibilities",
                       params={"client_id": client_id, "user_id": user_id},
                       headers={"Authorization": f"Bearer {served.firm.admin_token}"})
    assert answer.status_code == 200
    return [(item["role"], item["valid_until"] is None) for item in answer.json()["items"]]


def test_a_click_on_a_cell_adds_the_chosen_role_and_a_second_click_ends_it(tab, served):
    page, firm = tab.page, served.firm
    client = firm.clients["Kahvila Aalto Oy"]
    sign_in(page, firm.anna, start="/admin/responsibilities")
    assert page.get_by_role("heading", name="Vastuut", level=1).is_visible()
    assert _client_names(page) == ["Kahvila Aalto Oy", "Outin Oma Oy", "Rakennus Mäkinen Oy",
                                   "Tilausajo Saarinen Ky"]
    page.get_by_label("Solun napsautus lisää tai poistaa").select_option("kirjanpitaja")
    page.wait_for_url("**set_role=kirjanpitaja**")
    cell = page.locator(f"#cell-{client}-{firm.outi.id}")
    assert cell.get_attribute("aria-pressed") == "false"
    # Liisa holds another role here: her cell says so, and is not "pressed" for this one.
    liisa_cell = page.locator(f"#cell-{client}-{firm.liisa.id}")
    assert "Asiakasvastaava" in liisa_cell.inner_text()
    assert liisa_cell.get_attribute("aria-pressed") == "false"

    cell.click()
    page.wait_for_selector(f"#cell-{client}-{firm.outi.id}[aria-pressed=true]")
    assert "Kirjanpitäjä" in page.locator(f"#cell-{client}-{firm.outi.id}").inner_text()
    assert _held(served, client, firm.outi.id, "kirjanpitaja") == [(None, None)]
    assert _api_roles(served, client, firm.outi.id) == [("kirjanpitaja", True)]
    screenshot(page, "admin-matrix")

    page.locator(f"#cell-{client}-{firm.outi.id}").click()
    page.wait_for_selector(f"#cell-{client}-{firm.outi.id}[aria-pressed=false]")
    assert "Kirjanpitäjä" not in page.locator(f"#cell-{client}-{firm.outi.id}").inner_text()
    # Ended, not erased: who was responsible when stays on record.
    [(start, end)] = _held(served, client, firm.outi.id, "kirjanpitaja")
    assert start is None and end is not None
    assert _api_roles(served, client, firm.outi.id) == [("kirjanpitaja", False)]
    with served.engine.connect() as conn:
        actions = conn.execute(select(AuditEntry.action, AuditEntry.actor_user_id).where(
            AuditEntry.action.like("responsibility.%")).order_by(AuditEntry.id)).all()
    assert actions == [("responsibility.create", firm.anna.id),
                       ("responsibility.update", firm.anna.id)]
    # A reload shows the same: the change was stored, not only drawn.
    page.reload()
    assert page.locator(f"#cell-{client}-{firm.outi.id}").get_attribute("aria-pressed") == "false"
    assert tab.console_errors == []


def test_enter_and_space_on_a_cell_toggle_it_and_keep_the_focus(tab, served):
    page, firm = tab.page, served.firm
    client = firm.clients["Rakennus Mäkinen Oy"]
    sign_in(page, firm.anna, start="/admin/responsibilities?set_role=palkanlaskija")
    target = f"cell-{client}-{firm.liisa.id}"
    page.locator(f"#{target}").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{target}[aria-pressed=true]")
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id",
                           arg=target)
    assert [r for r, *_ in _held(served, client, firm.liisa.id, "palkanlaskija")] == [None]
    page.keyboard.press("Space")
    page.wait_for_selector(f"#{target}[aria-pressed=false]")
    assert page.evaluate("document.activeElement.id") == target
    [(_, end)] = _held(served, client, firm.liisa.id, "palkanlaskija")
    assert end is not None
    # Tab moves on to the next person's cell on the same row.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id").startswith(f"cell-{client}-")
    assert page.evaluate("document.activeElement.id") != target
    assert tab.console_errors == []


def test_filters_narrow_the_rows_and_stay_in_the_address(tab, served):
    page, firm = tab.page, served.firm
    with make_session_factory(served.engine)() as session:
        north = f.group(session)
        north.name = "Pohjoinen"
        vip = f.special(session)
        vip.name = "Avainasiakkaat"
        outi = session.get(User, firm.outi.id)
        f.client(session, name="Pohjoisen Paja Oy", group=north, specials=[vip])
        f.responsibility(session, outi, f.client(session, name="Rakennus Ojala Oy"),
                         role="kirjanpitaja")
        session.commit()
    sign_in(page, firm.anna, start="/admin/responsibilities")
    _wait_rows(page, 6)

    page.get_by_label("Henkilö").select_option(label="Mikko Mäkinen")
    _wait_rows(page, 2)
    assert _client_names(page) == ["Rakennus Mäkinen Oy", "Tilausajo Saarinen Ky"]
    assert f"person={firm.mikko.id}" in page.url
    page.get_by_label("Asiakkaan nimi").fill("raken")
    _wait_rows(page, 1)
    assert _client_names(page) == ["Rakennus Mäkinen Oy"]
    bookmark = page.url
    assert "q=raken" in bookmark

    page.goto("/admin/responsibilities")
    page.get_by_label("Vastuurooli").select_option("kirjanpitaja")
    _wait_rows(page, 1)
    assert _client_names(page) == ["Rakennus Ojala Oy"]
    page.goto("/admin/responsibilities")
    page.get_by_label("Asiakasryhmä").select_option(label="Pohjoinen")
    _wait_rows(page, 1)
    assert _client_names(page) == ["Pohjoisen Paja Oy"]
    page.goto("/admin/responsibilities")
    page.get_by_label("Erikoisryhmä").select_option(label="Avainasiakkaat")
    _wait_rows(page, 1)
    assert _client_names(page) == ["Pohjoisen Paja Oy"]
    page.get_by_label("Asiakkaan nimi").fill("ei tällaista")
    page.get_by_text("Mikään asiakas ei vastaa näitä suodattimia.").wait_for()

    # The bookmark opens the same filtered view, the filters shown as chosen.
    page.goto(bookmark)
    assert _client_names(page) == ["Rakennus Mäkinen Oy"]
    assert page.get_by_label("Asiakkaan nimi").input_value() == "raken"
    assert page.get_by_label("Henkilö").input_value() == str(firm.mikko.id)
    assert tab.console_errors == []


def test_the_export_holds_the_filtered_rows_in_excel(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.anna, start=f"/admin/responsibilities?person={firm.mikko.id}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Vie Exceliin").click()
    saved = download.value
    assert saved.suggested_filename.startswith("vastuut-")
    assert saved.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(Path(saved.path()).read_bytes())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[:3] == ["Asiakas", "Asiakasnumero", "Asiakasryhmä"]
    assert set(header[3:]) == {"Anna Virtanen", "Liisa Laine", "Mikko Mäkinen", "Outi Ojala"}
    mikko = header.index("Mikko Mäkinen")
    assert [(r[0], r[mikko]) for r in rows[1:]] == [
        ("Rakennus Mäkinen Oy", "Asiakasvastaava"), ("Tilausajo Saarinen Ky", "Asiakasvastaava")]
    assert tab.console_errors == []


def test_show_more_brings_the_next_clients(tab, served):
    with make_session_factory(served.engine)() as session:
        for n in range(110):
            f.client(session, name=f"Yritys {n:03d} Oy")
        session.commit()
    page = sign_in(tab.page, served.firm.anna, start="/admin/responsibilities")
    assert page.locator(ROWS).count() == 100
    assert page.get_by_text("Näytetään 100 / 114 asiakasta.").is_visible()
    page.get_by_role("link", name="Näytä lisää").click()
    _wait_rows(page, 114)
    assert page.locator("#matrix tr.more").count() == 0
    assert _client_names(page)[-1] == "Yritys 109 Oy"
    assert tab.console_errors == []


def test_staff_are_refused_the_admin_pages(tab, served):
    page = sign_in(tab.page, served.firm.liisa)
    for path in ("/admin", "/admin/responsibilities", "/admin/responsibilities/export.xlsx",
                 "/admin/covers", "/admin/users"):
        assert page.goto(path).status == 403, path
        assert page.get_by_role("heading", name="Ei sallittu").is_visible()
    assert page.get_by_role("link", name="Ylläpito").count() == 0
