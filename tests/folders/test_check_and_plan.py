"""The check and the plan on a real index: a messy client folder on disk, indexed by a
real sync, yields every kind of finding; the plan stores fixes, keeps approvals across
re-plans and lets fixed drift go stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import Conflict
from hub.folders import service
from hub.folders.models import FolderAction
from hub.folders.schemas import FolderSettingsIn
from hub.folders.templates import update_folder_settings
from tests.folders.conftest import (
    ME_ROOT,
    MIDYEAR,
    OTHER_ROOT,
    THIRD_ROOT,
    local_account,
    make_tree,
)
from tests.folders.test_drift import MESSY, MESSY_FINDINGS, finding_rows

EXPECTED = MESSY_FINDINGS


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    root = tmp_path / "drive"
    make_tree(root, [f"{ME_ROOT}/{e}" for e in MESSY])
    make_tree(root, [f"{OTHER_ROOT}/Asiakkaan aineisto/", f"{THIRD_ROOT}/"])
    return root


def test_a_synced_messy_folder_yields_every_finding(session, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    found = service.drift(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    assert [(d.client_id, d.root, d.year) for d in found] == [(firm.me.id, ME_ROOT, 2026)]
    assert finding_rows(list(found[0].findings)) == EXPECTED
    everyone = service.drift(session, firm.admin, MIDYEAR)
    assert {d.root for d in everyone} == {ME_ROOT, OTHER_ROOT, THIRD_ROOT}


def test_archived_clients_are_not_checked(session, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    firm.third.status = "archived"
    session.commit()
    assert {d.root for d in service.drift(session, firm.admin, MIDYEAR)} == {ME_ROOT,
                                                                               OTHER_ROOT}


def _rows(actions: list[FolderAction]) -> list[tuple[str, str, str | None, str]]:
    return [(a.kind, a.path, a.target, a.status) for a in actions]


def test_the_plan_stores_fixes_in_running_order(session, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    report = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    session.commit()
    me = f"{ME_ROOT}/"
    assert _rows(report.actions) == [
        ("create", me + "Palkanlaskenta", None, "proposed"),
        ("create", me + "Palkanlaskenta/2025", None, "proposed"),
        ("create", me + "Palkanlaskenta/2026", None, "proposed"),
        ("create", me + "Palkanlaskenta/2027", None, "proposed"),
        ("create", me + "Tilinpaatos/2026", None, "proposed"),
        ("create", me + "Tilinpaatos/2027", None, "proposed"),
        ("move", me + "Kolmas 7654321-2",
         f"{THIRD_ROOT}/Asiakkaan aineisto/Kolmas 7654321-2", "proposed"),
        ("move", me + "Muistio.txt", me + "Asiakkaan aineisto/Muistio.txt", "proposed"),
        ("move", me + "Sopimukset/1002 Toinen Oy",
         f"{OTHER_ROOT}/Asiakkaan aineisto/1002 Toinen Oy", "proposed"),
        ("move", me + "Tilinpäätös_2024", me + "Tilinpaatos/2024", "proposed"),
        ("move", me + "kirjanpito 2027", me + "Kirjanpito/2027", "proposed"),
        ("move", me + "lasku.pdf", me + "Asiakkaan aineisto/lasku.pdf", "proposed"),
        ("rename", me + "Tilinpaatos", me + "Tilinpäätös", "proposed"),
        ("rename", me + "valtakirjat", me + "Valtakirjat", "proposed"),
    ]
    # VEROTTAJA (a merge) and 'Vanhat paperit' (only a person knows) are left by hand.
    assert report.by_hand == 2 and len(report.created) == 14
    foreign = {a.path: a.target_client_id for a in report.actions if a.target_client_id}
    assert foreign == {me + "Kolmas 7654321-2": firm.third.id,
                       me + "Sopimukset/1002 Toinen Oy": firm.other.id}
    assert not [a for a in report.actions if a.is_folder is (a.finding == "loose_file")]


def test_creates_are_approved_by_themselves_only_when_the_firm_allows(session, firm, drive,
                                                                     sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    update_folder_settings(session, firm.admin, FolderSettingsIn(auto_create=True))
    report = service.plan(session, None, MIDYEAR, client_id=firm.me.id)
    statuses = {(a.kind, a.status, a.automatic) for a in report.actions}
    assert statuses == {("create", "approved", True), ("move", "proposed", False),
                        ("rename", "proposed", False)}


def test_a_re_plan_keeps_approvals_and_lets_fixed_drift_go_stale(session, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    first = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    rename = next(a for a in first.actions if a.path.endswith("/valtakirjat"))
    move = next(a for a in first.actions if a.path.endswith("/lasku.pdf"))
    service.approve(session, firm.admin, rename.id)
    session.commit()
    with pytest.raises(Conflict, match="only a proposed or failed"):
        service.approve(session, firm.admin, rename.id)
    # Someone files the invoice by hand before the fix runs.
    (drive / ME_ROOT / "lasku.pdf").rename(drive / ME_ROOT / "Asiakkaan aineisto/lasku.pdf")
    sync(account.id)
    second = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    session.commit()
    assert (len(second.created), len(second.kept), second.stale) == (0, 13, 1)
    kept = {a.id: a for a in second.actions}
    assert kept[rename.id].status == "approved"
    assert kept[rename.id].approved_by == firm.admin.user_id
    session.refresh(move)
    assert move.status == "stale" and move.id not in kept


def test_a_plan_for_one_client_leaves_the_others_alone(session, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    everyone = service.plan(session, firm.admin, MIDYEAR)
    third = [a for a in everyone.actions if a.client_id == firm.third.id]
    assert third and all(a.kind == "create" for a in third)
    again = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    assert again.stale == 0
    assert {a.status for a in third} == {"proposed"}
