"""The admin's screens for access rules, groups, client folders, sync status and the audit
log, in a real browser: each change made on a page takes effect in the hub (a staff member
sees a client at the rule's level, a folder appears on the drive), and only admins get in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from hub.access.models import AccessRule, AuditEntry
from hub.accounts.models import Account
from hub.clients.models import Client, ClientGroup, SpecialGroup
from hub.db import make_session_factory
from hub.folders.models import FolderAction
from hub.sync.runs import close_run, open_run
from tests.folders.conftest import make_tree, tree_of
from tests.web.conftest import screenshot, sign_in
from tests.web.test_accessibility import _violations
from workers.sync import sync_account

PAGES = ["/admin/access-rules", "/admin/groups", "/admin/folders", "/admin/sync",
         "/admin/audit"]
REFUSAL = "the folder /srv/asiakkaat is not there any more; check the account's path"


def _other_tab(page, served):
    """A second browser of its own (its own cookies), for another person."""
    context = page.context.browser.new_context(base_url=served.url, locale="fi-FI")
    return context.new_page()


def _special_group(served, name: str, *client_names: str) -> int:
    with make_session_factory(served.engine)() as session:
        clients = list(session.scalars(select(Client).where(Client.name.in_(client_names))))
        group = SpecialGroup(name=name, description="")
        session.add(group)
        session.flush()
        for client in clients:
            client.special_groups.append(group)
        session.commit()
        return group.id


def _customer_number(served, name: str) -> int:
    with served.engine.connect() as conn:
        return conn.execute(select(Client.customer_number).where(Client.name == name)
                            ).scalar_one()


def _rules(served) -> list[tuple[str, str]]:
    with served.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(AccessRule.subject, AccessRule.level).order_by(AccessRule.id))]


# -- access rules -------------------------------------------------------------------------


def test_an_access_rule_shows_a_client_to_staff_at_its_level_until_it_is_removed(tab, served):
    page, firm = tab.page, served.firm
    _special_group(served, "Tilintarkastettavat", "Outin Oma Oy")
    outi_client = f"/clients/{firm.clients['Outin Oma Oy']}"
    liisa = sign_in(_other_tab(page, served), firm.liisa, start=outi_client)
    assert liisa.goto(outi_client).status == 404

    sign_in(page, firm.anna, start="/admin/access-rules")
    assert page.get_by_role("heading", name="Käyttöoikeussäännöt", level=1).is_visible()
    levels = page.locator("section", has=page.get_by_role("heading",
                                                          name="Mitä kukin taso näyttää"))
    assert "Vain kunkin viestin päivämäärä ja osapuolet" in levels.inner_text()
    rules = page.locator("section", has=page.get_by_role("heading",
                                                         name="Voimassa olevat säännöt"))
    before = rules.locator("tbody tr").count()
    assert before == len(_rules(served))  # the roles' own rules, and the firm's
    page.get_by_label("Kuka", exact=True).select_option(label="Koko henkilöstö")
    page.get_by_label("Erikoisryhmä", exact=True).select_option(label="Tilintarkastettavat")
    page.get_by_label("Taso", exact=True).select_option("subject")
    page.get_by_role("button", name="Lisää sääntö").click()
    page.wait_for_url("**/admin/access-rules")
    row = rules.locator("tbody tr", has_text="Koko henkilöstö")
    assert [c.inner_text() for c in row.locator("td").all()][:3] == [
        "Koko henkilöstö", "erikoisryhmä: Tilintarkastettavat", "aiheet, ei viestien sisältöä"]
    screenshot(page, "admin-access-rules")

    # At once, for a staff member: the client is there, at the rule's level.
    assert liisa.goto(outi_client).status == 200
    assert liisa.get_by_role("heading", name="Outin Oma Oy", level=1).is_visible()
    assert "aiheet, ei viestien sisältöä" in liisa.locator("main").inner_text()

    assert rules.locator("tbody tr").count() == before + 1
    assert ("staff", "subject") in _rules(served)
    row.get_by_role("button", name="Poista").click()
    page.wait_for_url("**/admin/access-rules")
    assert rules.locator("tbody tr").count() == before
    assert liisa.goto(outi_client).status == 404
    assert ("staff", "subject") not in _rules(served)
    with served.engine.connect() as conn:
        assert conn.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("access_rule.%")).order_by(AuditEntry.id)
        ).scalars().all() == ["access_rule.create", "access_rule.delete"]
    assert tab.console_errors == []


# -- groups -------------------------------------------------------------------------------


def test_an_admin_creates_groups_and_puts_clients_in_them(tab, served):
    page, firm = tab.page, served.firm
    sign_in(page, firm.anna, start="/admin/groups")
    new_group = page.locator("form", has=page.get_by_role("heading", name="Uusi asiakasryhmä"))
    new_group.get_by_label("Nimi").fill("Rakennusala")
    new_group.get_by_label("Asiakasnumerot alkaen").fill("5000")
    new_group.get_by_role("button", name="Lisää asiakasryhmä").click()
    page.wait_for_url("**/admin/groups")
    groups = page.locator("section", has=page.get_by_role("heading", name="Asiakasryhmät",
                                                          exact=True))
    row = groups.locator("tbody tr", has_text="Rakennusala")
    assert "ei asiakkaita" in row.inner_text()

    page.get_by_label("Asiakas", exact=True).select_option(
        str(firm.clients["Rakennus Mäkinen Oy"]))
    page.get_by_label("Asiakasryhmä", exact=True).select_option(label="Rakennusala")
    page.get_by_role("button", name="Siirrä", exact=True).click()
    page.wait_for_url("**/admin/groups")
    assert "Rakennus Mäkinen Oy" in row.inner_text()

    new_special = page.locator("form", has=page.get_by_role("heading",
                                                            name="Uusi erikoisryhmä"))
    new_special.get_by_label("Nimi").fill("Palkanlaskenta")
    new_special.get_by_role("button", name="Lisää erikoisryhmä").click()
    page.wait_for_url("**/admin/groups")
    page.get_by_label("Lisää asiakas ryhmään Palkanlaskenta").select_option(
        str(firm.clients["Kahvila Aalto Oy"]))
    page.get_by_role("button", name="Lisää", exact=True).click()
    page.wait_for_url("**/admin/groups")
    special = page.locator("article", has=page.get_by_role("heading", name="Palkanlaskenta"))
    assert "Kahvila Aalto Oy" in special.locator("ul.members").inner_text()
    screenshot(page, "admin-groups")
    with served.engine.connect() as conn:
        group_id = conn.execute(select(ClientGroup.id).where(ClientGroup.name == "Rakennusala")
                                ).scalar_one()
        assert conn.execute(select(Client.group_id).where(
            Client.id == firm.clients["Rakennus Mäkinen Oy"])).scalar_one() == group_id
    with make_session_factory(served.engine)() as session:
        kahvila = session.get(Client, firm.clients["Kahvila Aalto Oy"])
        assert [g.name for g in kahvila.special_groups] == ["Palkanlaskenta"]

    special.get_by_role("button", name="Poista ryhmästä Palkanlaskenta: Kahvila Aalto Oy").click()
    page.wait_for_url("**/admin/groups")
    assert "ei asiakkaita" in special.inner_text()
    page.get_by_role("button", name="Poista asiakasryhmä Rakennusala").click()
    page.wait_for_url("**/admin/groups")
    assert groups.locator("tbody tr", has_text="Rakennusala").count() == 0
    with served.engine.connect() as conn:
        assert conn.execute(select(Client.group_id).where(
            Client.id == firm.clients["Rakennus Mäkinen Oy"])).scalar_one() is None
    assert tab.console_errors == []


# -- folders ------------------------------------------------------------------------------


def _drive_with_a_bare_client_root(served, tmp_path: Path) -> tuple[Path, str, int]:
    """A local drive holding Kahvila Aalto's client folder with nothing in it, synced."""
    root = f"{_customer_number(served, 'Kahvila Aalto Oy')} Kahvila Aalto Oy"
    drive = tmp_path / "drive"
    make_tree(drive, [f"{root}/"])
    factory = make_session_factory(served.engine)
    with factory() as session:
        account = Account(owner_user_id=served.firm.anna.id, kind="local", name="Asiakaslevy",
                          settings={"path": str(drive)})
        session.add(account)
        session.commit()
        account_id = account.id
    for result in sync_account(factory, account_id):
        assert result.status == "ok", result.message
    return drive, root, account_id


def test_a_proposed_folder_fix_is_approved_and_carried_out_and_another_rejected(
        tab, served, tmp_path):
    page, firm = tab.page, served.firm
    drive, root, _ = _drive_with_a_bare_client_root(served, tmp_path)
    sign_in(page, firm.anna, start="/admin/folders")
    drift = page.locator("article", has=page.get_by_role("heading", name="Kahvila Aalto Oy"))
    assert f"Puuttuva kansio: {root}/Verottaja" not in drift.inner_text()  # relative paths
    assert "Puuttuva kansio: Verottaja" in drift.inner_text()
    assert page.get_by_text("Yksikään korjaus ei odota hyväksyntää.").is_visible()

    page.get_by_role("button", name="Tarkista kansiot nyt").click()
    page.wait_for_url("**/admin/folders*")
    proposed = page.locator("#proposed-fixes tbody tr")
    assert proposed.count() > 2
    page.get_by_role("button", name=f"Hyväksy: Luo {root}/Verottaja", exact=True).click()
    page.wait_for_url("**/admin/folders*")
    page.get_by_role("button", name=f"Hylkää: Luo {root}/Sopimukset", exact=True).click()
    page.wait_for_url("**/admin/folders*")
    assert page.locator("#approved-fixes").inner_text().strip() == f"Luo {root}/Verottaja"
    assert f"{root}/Sopimukset" not in page.locator("#proposed-fixes").inner_text()
    assert tree_of(drive) == {f"{root}/"}  # approving alone changes nothing on the drive
    screenshot(page, "admin-folders")

    page.get_by_role("button", name="Toteuta hyväksytyt korjaukset").click()
    page.wait_for_url("**/admin/folders*")
    assert tree_of(drive) == {f"{root}/", f"{root}/Verottaja/"}
    assert page.get_by_text("Ei yhtään.").is_visible()  # nothing approved is left waiting
    # The drive was read again: Verottaja is no longer missing.
    assert "Puuttuva kansio: Verottaja\n" not in drift.inner_text() + "\n"
    with served.engine.connect() as conn:
        done = dict(conn.execute(select(FolderAction.path, FolderAction.status).where(
            FolderAction.path.in_([f"{root}/Verottaja", f"{root}/Sopimukset"]))).all())
        assert done == {f"{root}/Verottaja": "applied", f"{root}/Sopimukset": "stale"}
        assert conn.execute(select(FolderAction.applied_by).where(
            FolderAction.path == f"{root}/Verottaja")).scalar_one() == firm.anna.id
    assert tab.console_errors == []


# -- sync status --------------------------------------------------------------------------


def _failed_account(served) -> int:
    factory = make_session_factory(served.engine)
    with factory() as session:
        account = Account(owner_user_id=served.firm.anna.id, kind="local", name="Asiakaslevy",
                          settings={"path": "/srv/asiakkaat"})
        session.add(account)
        session.commit()
        account_id = account.id
    close_run(factory, open_run(factory, account_id, "drive"), "failed", REFUSAL)
    return account_id


def test_the_sync_page_says_why_a_run_failed_and_what_to_do(tab, served):
    page, firm = tab.page, served.firm
    account_id = _failed_account(served)
    sign_in(page, firm.anna, start="/admin/sync")
    assert page.get_by_role("status").inner_text().strip() == (
        "Synkronoinnissa on virheitä: 1 / 1 synkronoitavasta tilistä.")
    account = page.locator("section", has=page.get_by_role("heading", name="Asiakaslevy"))
    text = account.inner_text()
    assert "Virran drive viimeisin ajo epäonnistui." in text
    assert account.locator("q[lang=en]").inner_text() == REFUSAL
    assert f"komennolla clienthub sync --account {account_id}" in text
    assert "Mikään synkronointi ei pidä tiliä varattuna." in text
    assert [c.inner_text() for c in account.locator("tbody tr").first.locator("th, td").all()
            ][:2] == ["drive", "epäonnistui"]
    screenshot(page, "admin-sync")
    assert tab.console_errors == []


# -- audit log ----------------------------------------------------------------------------


def test_the_audit_log_lists_entries_filters_them_and_verify_tells_intact_from_tampered(
        tab, served):
    page, firm = tab.page, served.firm
    _special_group(served, "Tilintarkastettavat", "Outin Oma Oy")
    sign_in(page, firm.anna, start="/admin/access-rules")
    page.get_by_label("Taso", exact=True).select_option("metadata")
    page.get_by_role("button", name="Lisää sääntö").click()
    page.wait_for_url("**/admin/access-rules")

    page.goto("/admin/audit")
    rows = page.locator(".audit-table tbody tr")
    ids = [int(r.locator("td").first.inner_text()) for r in rows.all()]
    assert len(ids) > 1 and ids == sorted(ids, reverse=True)  # newest first
    assert "access_rule.create" in rows.first.inner_text()
    assert "Anna Virtanen" in rows.first.inner_text()

    page.get_by_label("Toiminto").fill("access_rule.create")
    page.get_by_role("button", name="Suodata").click()
    page.wait_for_url("**/admin/audit?*")
    assert [r.locator("td").nth(3).inner_text() for r in rows.all()] == ["access_rule.create"]

    page.get_by_role("button", name="Tarkista").click()
    page.wait_for_url("**/admin/audit/verify*")
    verdict = page.locator(".audit-verdict")
    assert verdict.inner_text().startswith("Tapahtumaloki on eheä:")
    screenshot(page, "admin-audit")

    # Someone with rights over the database drops its guards and rewrites a row: the
    # same button now says so.
    with served.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))  # the served app is SQLite
        conn.execute(update(AuditEntry).where(AuditEntry.id == ids[-1])
                     .values(detail={"rewritten": True}))
    page.get_by_role("button", name="Tarkista").click()
    page.wait_for_load_state()
    assert "Tapahtumalokia on peukaloitu" in verdict.inner_text()
    assert f"Rivi {ids[-1]}:" in verdict.inner_text()
    assert tab.console_errors == []


# -- only admins --------------------------------------------------------------------------


def test_a_staff_member_is_refused_every_admin_screen_and_every_change(tab, served):
    page, firm = tab.page, served.firm
    rules = _rules(served)
    sign_in(page, firm.liisa)
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRF-Token"]
    for path in [*PAGES, "/admin/audit/verify"]:
        answer = page.goto(path)
        assert answer.status == 403, path
        assert "Vain ylläpitäjä" in page.locator("main").inner_text()
    changes = {
        "/admin/access-rules": {"who": "staff", "level": "full"},
        "/admin/groups/client-groups": {"name": "Omat"},
        "/admin/groups/special-groups": {"name": "Omat"},
        "/admin/folders/check": {},
        "/admin/folders/apply": {},
    }
    for path, form in changes.items():
        answer = page.request.post(path, form=form, headers={"X-CSRF-Token": token},
                                   max_redirects=0)
        assert answer.status == 403, path
    with served.engine.connect() as conn:
        assert conn.execute(select(ClientGroup.id)).first() is None
    assert _rules(served) == rules
    # Nor does the admin navigation show.
    assert page.get_by_role("link", name="Ylläpito").count() == 0


# -- accessibility ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "en"])
def test_no_serious_violation_on_the_admin_screens(axe_tab, served, tmp_path, language):
    page = axe_tab.page
    _special_group(served, "Tilintarkastettavat", "Outin Oma Oy")
    _drive_with_a_bare_client_root(served, tmp_path)
    _failed_account(served)
    sign_in(page, served.firm.anna, start="/admin/folders")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.get_by_role("button", name="Check the folders now" if language == "en"
                     else "Tarkista kansiot nyt").click()
    page.wait_for_url("**/admin/folders*")
    for path in [*PAGES, "/admin/audit/verify"]:
        page.goto(path)
        assert _violations(page) == [], path
        screenshot(page, f"admin-{path.rsplit('/', 1)[-1]}-axe-{language}")
