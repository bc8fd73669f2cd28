"""The scheduled run and new clients: next fiscal year's folders appear a month ahead, a new
client's folder gets its tree, and nothing is created unless the firm allows it."""

from __future__ import annotations

from datetime import date

from hub.clients.models import Client
from hub.folders import service
from hub.folders.index import mapped_roots
from hub.folders.schemas import FolderSettingsIn
from hub.folders.templates import update_folder_settings
from tests.folders.conftest import ME_ROOT, MIDYEAR, local_account, make_tree, tree_of
from tests.folders.test_apply_local import _template_tree
from workers.folders import create_client_tree, enforce_folders

NEW_ROOT = "1004 Uusi Asiakas Oy"


def _allow_creates(session, firm) -> None:
    update_folder_settings(session, firm.admin, FolderSettingsIn(auto_create=True))
    session.commit()


def _in_order(session, firm, tmp_path):
    """A drive holding client 1001's folder exactly as the template asks for 2026."""
    drive = tmp_path / "drive"
    make_tree(drive, sorted(_template_tree(ME_ROOT, payroll=True)))
    local_account(session, firm.admin, drive)
    return drive


def test_next_years_folders_are_created_a_month_ahead(session, session_factory, firm,
                                                      tmp_path):
    drive = _in_order(session, firm, tmp_path)
    _allow_creates(session, firm)
    before = tree_of(drive)
    reports = enforce_folders(session_factory, today=date(2026, 11, 30))
    assert [r.applied.applied for r in reports] == [[]]
    assert tree_of(drive) == before
    reports = enforce_folders(session_factory, today=date(2026, 12, 15))
    assert reports[0].plan.year == 2027
    created = tree_of(drive) - before
    assert created == {f"{ME_ROOT}/{name}/2028/"
                       for name in ("Kirjanpito", "Tilinpäätös", "Palkanlaskenta")}
    # The index caught up on the way: the next run finds nothing to do.
    again = enforce_folders(session_factory, today=date(2026, 12, 16))
    assert again[0].plan.created == [] and again[0].applied.applied == []


def test_without_the_firms_consent_the_run_only_proposes(session, session_factory, firm,
                                                         tmp_path):
    drive = _in_order(session, firm, tmp_path)
    before = tree_of(drive)
    reports = enforce_folders(session_factory, today=date(2026, 12, 15))
    assert tree_of(drive) == before
    assert {(a.kind, a.status) for a in reports[0].plan.actions} == {("create", "proposed")}


def test_a_new_clients_mapped_folder_gets_its_tree(session, session_factory, firm, tmp_path):
    drive = _in_order(session, firm, tmp_path)
    _allow_creates(session, firm)
    session.add(Client(name="Uusi Asiakas Oy", name_key="uusi asiakas oy",
                       customer_number=1004, status="active"))
    session.commit()
    make_tree(drive, [f"{NEW_ROOT}/Sopimukset/Toimeksiantosopimus.pdf"])
    enforce_folders(session_factory, today=MIDYEAR)
    assert tree_of(drive / NEW_ROOT) == {
        p.removeprefix(f"{NEW_ROOT}/") for p in _template_tree(NEW_ROOT)
        if p != f"{NEW_ROOT}/"} | {"Sopimukset/Toimeksiantosopimus.pdf"}


def test_an_admin_creates_a_new_clients_root_and_tree(session, session_factory, firm,
                                                      tmp_path):
    drive = tmp_path / "drive"
    (drive / "Asiakkaat").mkdir(parents=True)
    account = local_account(session, firm.admin, drive, clients_path="Asiakkaat")
    client = Client(name="Uusi Asiakas Oy", name_key="uusi asiakas oy", customer_number=1004,
                    status="active")
    session.add(client)
    session.commit()
    actions, report = create_client_tree(session_factory, firm.admin, client.id, account.id,
                                         MIDYEAR)
    assert actions[0].path == f"Asiakkaat/{NEW_ROOT}" and report.failed == []
    assert {a.status for a in actions} == {"applied"}
    assert {a.approved_by for a in actions} == {firm.admin.user_id}
    assert tree_of(drive / "Asiakkaat") == _template_tree(NEW_ROOT)
    # The refresh afterwards mapped the new folder to its client: no drift is left.
    session.expire_all()
    assert [r.path for r in mapped_roots(session, client_id=client.id)] == [
        f"Asiakkaat/{NEW_ROOT}"]
    found = service.drift(session, firm.admin, MIDYEAR, client_id=client.id)
    assert [d.findings for d in found] == [()]
    # Asked again, it creates only what is missing and touches nothing else.
    (drive / "Asiakkaat" / NEW_ROOT / "Verottaja").rmdir()
    actions, _ = create_client_tree(session_factory, firm.admin, client.id, account.id,
                                    MIDYEAR)
    assert [a.path for a in actions] == [f"Asiakkaat/{NEW_ROOT}/Verottaja"]
    assert tree_of(drive / "Asiakkaat") == _template_tree(NEW_ROOT)
