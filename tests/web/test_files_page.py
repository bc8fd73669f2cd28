"""A client's files page in a real browser: the drive folder, newest change first, its
subfolders, and how it differs from the folder template."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.accounts.models import Account
from hub.clients.models import Client
from hub.db import make_session_factory
from tests.web.conftest import screenshot, sign_in
from tests.web.test_accessibility import _violations
from workers.sync import sync_account


def _at(path: Path, day: str) -> None:
    stamp = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))


def _file(path: Path, day: str, size: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    _at(path, day)


@dataclass
class Drive:
    client_id: int
    root: str


@pytest.fixture
def kahvila_drive(served, tmp_path) -> Drive:
    """The firm's shared drive (Anna's account, shared in full) with Kahvila Aalto Oy's
    folder in it: a folder a day apart from the next, two loose files, an extra folder and
    no Verottaja folder."""
    factory = make_session_factory(served.engine)
    client_id = served.firm.clients["Kahvila Aalto Oy"]
    with factory() as session:
        number = session.get(Client, client_id).customer_number
    drive = tmp_path / "drive"
    root = drive / f"{number} Kahvila Aalto Oy"
    _file(root / "Kirjanpito" / "2026" / "paakirja.pdf", "2026-09-01", 2048)
    _at(root / "Kirjanpito" / "2026", "2026-09-01")
    _at(root / "Kirjanpito", "2026-09-02")
    _file(root / "Sopimukset" / "toimeksianto.pdf", "2026-02-01", 5 * 1024 * 1024)
    _at(root / "Sopimukset", "2026-05-01")
    _file(root / "muistio.txt", "2026-03-01")
    _file(root / "alv.xlsx", "2026-10-01", 300)
    (root / "Vanhat").mkdir()
    _at(root / "Vanhat", "2025-01-15")
    with factory() as session:
        account = Account(owner_user_id=served.firm.anna.id, kind="local", name="Yhteinen levy",
                          settings={"path": str(drive)}, share_level="full")
        session.add(account)
        session.commit()
        account_id = account.id
    sync_account(factory, account_id)
    return Drive(client_id, root.name)


def _names(page) -> list[str]:
    return [row.locator("td").first.inner_text()
            for row in page.locator("#folder-entries tbody tr").all()]


def test_the_files_page_lists_the_newest_change_first_and_the_drift(tab, served, kahvila_drive):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa, start=f"/clients/{kahvila_drive.client_id}/files")
    assert page.get_by_role("heading", name="Tiedostot: Kahvila Aalto Oy", level=1).is_visible()
    assert _names(page) == ["alv.xlsx", "Kirjanpito/", "Sopimukset/", "muistio.txt", "Vanhat/"]
    first = page.locator("#folder-entries tbody tr").first
    assert "300 t" in first.inner_text()
    drift = page.locator("section", has=page.get_by_role(
        "heading", name="Poikkeamat kansiopohjasta"))
    findings = drift.locator("li").all_inner_texts()
    assert "Puuttuva kansio: Verottaja" in findings
    assert "Irrallinen tiedosto asiakkaan pääkansiossa: muistio.txt → " \
           "Asiakkaan aineisto/muistio.txt" in findings
    assert "Kansio, jota ei ole kansiopohjassa: Vanhat" in findings
    assert not any("Kirjanpito/2026" in t for t in findings)  # that one is there
    screenshot(page, "files")

    with page.expect_navigation():
        page.get_by_role("link", name="Sopimukset/").click()
    assert page.url.endswith("/files?path=Sopimukset/")
    crumbs = page.get_by_role("navigation", name="Kansiopolku")
    assert crumbs.get_by_role("link", name=kahvila_drive.root).is_visible()
    assert _names(page) == ["toimeksianto.pdf"]
    assert "5 Mt" in page.locator("#folder-entries tbody tr").first.inner_text()
    with page.expect_navigation():
        crumbs.get_by_role("link", name=kahvila_drive.root).click()
    assert page.url.endswith(f"/clients/{kahvila_drive.client_id}/files")
    assert _names(page)[0] == "alv.xlsx"
    assert tab.console_errors == []

    with served.engine.connect() as conn:
        actions = list(conn.scalars(select(AuditEntry.action).where(
            AuditEntry.actor_user_id == firm.liisa.id,
            AuditEntry.client_id == kahvila_drive.client_id)))
    assert actions.count("files.read") == 3 and "folders.drift_read" in actions


def test_a_client_without_a_drive_folder_says_so(tab, served, kahvila_drive):
    page = tab.page
    sign_in(page, served.firm.liisa,
            start=f"/clients/{served.firm.clients['Rakennus Mäkinen Oy']}/files")
    assert page.get_by_text("Asiakkaalla ei ole vielä kansiota levyllä").is_visible()
    assert page.locator("#folder-entries").count() == 0


def test_files_of_a_client_the_viewer_may_not_see_answer_as_missing(tab, served, kahvila_drive):
    page = tab.page
    sign_in(page, served.firm.outi)
    hidden = page.goto(f"/clients/{kahvila_drive.client_id}/files")
    hidden_text = page.locator("main").inner_text()
    missing = page.goto("/clients/987654321/files")
    assert hidden.status == missing.status == 404
    assert hidden_text == page.locator("main").inner_text()
    assert "Kahvila" not in hidden_text
    assert page.goto(f"/clients/{kahvila_drive.client_id}/files?path=..%2F").status == 404


def test_no_serious_violation_on_the_files_page(axe_tab, served, kahvila_drive):
    page = axe_tab.page
    sign_in(page, served.firm.liisa, start=f"/clients/{kahvila_drive.client_id}/files")
    assert _violations(page) == []
    with page.expect_navigation():
        page.get_by_role("link", name="Sopimukset/").click()
    assert page.url.endswith("/files?path=Sopimukset/")
    assert _violations(page) == []
