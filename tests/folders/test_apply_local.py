"""Plan, approve, apply and undo on a local folder: the exact tree afterwards, every step
recorded, an interrupted apply resumed without doing anything twice, nothing replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hub.access.models import AuditEntry
from hub.errors import Conflict
from hub.folders import service
from hub.folders.models import FolderAction
from tests.folders.conftest import (
    ME_ROOT,
    MIDYEAR,
    OTHER_ROOT,
    THIRD_ROOT,
    Counting,
    ProcessKilled,
    local_account,
    make_tree,
    tree_of,
)
from tests.folders.test_drift import MESSY
from workers.folders import writer_for

YEARS = ("2025", "2026", "2027")
PLAIN = ["Verottaja/", "Sopimukset/", "Valtakirjat/", "Asiakkaan aineisto/"]


def _template_tree(root: str, *, payroll: bool = False) -> set[str]:
    yearly = ["Kirjanpito", "Tilinpäätös"] + (["Palkanlaskenta"] if payroll else [])
    paths = {f"{root}/"} | {f"{root}/{p}" for p in PLAIN}
    for name in yearly:
        paths |= {f"{root}/{name}/"} | {f"{root}/{name}/{y}/" for y in YEARS}
    return paths


#: The messy folder of test_drift.py once every approved fix has run.
FIXED_ME = _template_tree(ME_ROOT, payroll=True) | {f"{ME_ROOT}/{p}" for p in [
    "Kirjanpito/2025/tosite.pdf", "Kirjanpito/2027/tosite.pdf",
    "Tilinpäätös/2025/tase.pdf", "Tilinpäätös/2024/",
    "Verottaja/2025/", "Verottaja/2025/Päätökset/",
    "VEROTTAJA/", "Vanhat paperit/",
    "Sopimukset/Toimeksiantosopimus.pdf",
    "Asiakkaan aineisto/kuitit.pdf", "Asiakkaan aineisto/lasku.pdf",
    "Asiakkaan aineisto/Muistio.txt"]}
FIXED = FIXED_ME | _template_tree(OTHER_ROOT) | _template_tree(THIRD_ROOT) | {
    f"{OTHER_ROOT}/Asiakkaan aineisto/1002 Toinen Oy/",
    f"{OTHER_ROOT}/Asiakkaan aineisto/1002 Toinen Oy/sopimus.pdf",
    f"{THIRD_ROOT}/Asiakkaan aineisto/Kolmas 7654321-2/"}


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    root = tmp_path / "drive"
    make_tree(root, [f"{ME_ROOT}/{e}" for e in MESSY])
    make_tree(root, [f"{OTHER_ROOT}/Asiakkaan aineisto/", f"{THIRD_ROOT}/"])
    return root


def _plan_and_approve_all(session, firm, account_id: int) -> list[int]:
    report = service.plan(session, firm.admin, MIDYEAR, account_id=account_id)
    for action in report.actions:
        service.approve(session, firm.admin, action.id)
    session.commit()
    return [a.id for a in report.actions]


def _statuses(session, ids: list[int]) -> list[str]:
    session.expire_all()
    rows = {a.id: a for a in session.scalars(select(FolderAction).where(FolderAction.id.in_(ids)))}
    return [rows[i].status for i in ids]


def test_approved_fixes_leave_exactly_the_template_tree(session, session_factory, firm, drive,
                                                        sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    ids = _plan_and_approve_all(session, firm, account.id)
    steps: list[str] = []
    report = service.apply(session_factory, writer_for, firm.admin,
                           progress=lambda a, n, total: steps.append(f"{n}/{total}"))
    assert (len(report.applied), report.failed, report.skipped) == (len(ids), [], [])
    assert steps[-1] == f"{len(ids)}/{len(ids)}"
    assert tree_of(drive) == FIXED
    assert set(_statuses(session, ids)) == {"applied"}
    done = session.scalars(select(FolderAction).where(FolderAction.id.in_(ids))).all()
    assert all(a.applied_by == firm.admin.user_id and a.applied_at and a.changed_drive
               for a in done)
    audited = session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "folders.action_applied")).all()
    assert len(audited) == len(ids)
    # Once the index has caught up, only what needs a person is left.
    sync(account.id)
    left = service.drift(session, firm.admin, MIDYEAR, client_id=firm.me.id)[0].findings
    assert [(f.kind, f.path) for f in left] == [("misnamed_folder", "VEROTTAJA"),
                                                ("unexpected_folder", "Vanhat paperit")]
    again = service.plan(session, firm.admin, MIDYEAR, account_id=account.id)
    assert (again.created, again.kept, again.by_hand) == ([], [], 2)


def test_only_approved_actions_run(session, session_factory, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    report = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    rename = next(a for a in report.actions if a.path.endswith("/valtakirjat"))
    service.approve(session, firm.admin, rename.id)
    session.commit()
    with pytest.raises(Conflict, match="approve it first"):
        service.apply(session_factory, writer_for, firm.admin,
                      action_ids=[rename.id, report.actions[0].id])
    applied = service.apply(session_factory, writer_for, firm.admin)
    assert applied.applied == [rename.id]
    assert (drive / ME_ROOT / "Valtakirjat").is_dir()
    assert not (drive / ME_ROOT / "Palkanlaskenta").exists()


@pytest.mark.parametrize("recorded", [False, True], ids=["before-step", "after-step"])
def test_an_interrupted_apply_resumes_without_doing_anything_twice(
        session, session_factory, firm, drive, sync, recorded):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    ids = _plan_and_approve_all(session, firm, account.id)
    dying = Counting(writer_for(account), die_after=1, die_before_return=recorded)
    with pytest.raises(ProcessKilled):
        service.apply(session_factory, lambda _: dying, firm.admin)
    statuses = _statuses(session, ids)
    assert statuses[:2] == ["applied", "applying"]
    assert set(statuses[2:]) == {"approved"}
    # Killed after the drive step but before it was recorded: the folder is there.
    second = session.get(FolderAction, ids[1])
    assert (drive / second.path).is_dir() is recorded
    resumed = Counting(writer_for(account))
    report = service.apply(session_factory, lambda _: resumed, firm.admin)
    assert report.applied == ids[1:] and report.failed == []
    assert tree_of(drive) == FIXED
    assert set(_statuses(session, ids)) == {"applied"}
    # Every drive step happened exactly once over the two runs.
    steps = [p for _, p in dying.steps + resumed.steps]
    assert len(steps) == len(set(steps)) == len(ids)
    session.refresh(second)
    if recorded:
        assert second.result == "created (finished after an interruption)"


def test_nothing_is_ever_replaced_and_a_failure_leaves_the_drive_as_it_was(
        session, session_factory, firm, drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    report = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    move = next(a for a in report.actions if a.path.endswith("/lasku.pdf"))
    create = next(a for a in report.actions if a.path.endswith("/Palkanlaskenta"))
    later = next(a for a in report.actions if a.path.endswith("/Palkanlaskenta/2025"))
    for action in (move, create, later):
        service.approve(session, firm.admin, action.id)
    session.commit()
    # Between the plan and the apply, a colleague saves another lasku.pdf in the inbox
    # and makes the Palkanlaskenta folder herself, with a file in it.
    (drive / ME_ROOT / "Asiakkaan aineisto/lasku.pdf").write_text("hers", encoding="utf-8")
    make_tree(drive, [f"{ME_ROOT}/Palkanlaskenta/ohje.txt"])
    before = tree_of(drive)
    result = service.apply(session_factory, writer_for, firm.admin)
    assert result.applied == [create.id, later.id] and result.failed == [move.id]
    session.expire_all()
    failed = session.get(FolderAction, move.id)
    assert failed.status == "failed" and not failed.retryable
    assert "already exists and nothing is ever replaced; merge the two by hand" in failed.error
    assert (drive / ME_ROOT / "Asiakkaan aineisto/lasku.pdf").read_text() == "hers"
    assert (drive / ME_ROOT / "lasku.pdf").exists()
    assert tree_of(drive) == before | {f"{ME_ROOT}/Palkanlaskenta/2025/"}
    found = session.get(FolderAction, create.id)
    assert (found.result, found.changed_drive) == ("was already there", False)
    with pytest.raises(Conflict, match="nothing to undo"):
        service.undo(session_factory, writer_for, firm.admin, create.id)


def test_later_steps_of_a_failed_client_folder_wait(session, session_factory, firm, drive,
                                                     sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    ids = _plan_and_approve_all(session, firm, account.id)
    first_of_me = next(i for i in ids if session.get(FolderAction, i).client_id == firm.me.id)
    # The parent of the first create vanishes: that create fails, ME's later steps wait,
    # the other clients' steps still run.
    victim = session.get(FolderAction, first_of_me)
    (drive / ME_ROOT).rename(drive / "renamed meanwhile")
    report = service.apply(session_factory, writer_for, firm.admin)
    assert report.failed == [victim.id]
    assert report.skipped and all(session.get(FolderAction, i).client_id == firm.me.id
                                  for i in report.skipped)
    assert (drive / THIRD_ROOT / "Kirjanpito/2026").is_dir()
    session.expire_all()
    assert "sync the drive and plan again" in session.get(FolderAction, victim.id).error


def test_undo_moves_back_and_removes_only_empty_folders(session, session_factory, firm,
                                                        drive, sync):
    account = local_account(session, firm.admin, drive)
    sync(account.id)
    ids = _plan_and_approve_all(session, firm, account.id)
    service.apply(session_factory, writer_for, firm.admin)
    actions = {a.path: a for a in session.scalars(
        select(FolderAction).where(FolderAction.id.in_(ids)))}
    me = f"{ME_ROOT}/"
    rename = actions[me + "valtakirjat"]
    undone = service.undo(session_factory, writer_for, firm.admin, rename.id)
    assert undone.status == "undone" and undone.undone_by == firm.admin.user_id
    assert (drive / me / "valtakirjat").is_dir() and not (drive / me / "Valtakirjat").exists()
    moved = actions[me + "lasku.pdf"]
    service.undo(session_factory, writer_for, firm.admin, moved.id)
    assert (drive / me / "lasku.pdf").is_file()
    empty = actions[me + "Palkanlaskenta/2025"]
    service.undo(session_factory, writer_for, firm.admin, empty.id)
    assert not (drive / me / "Palkanlaskenta/2025").exists()
    parent = actions[me + "Palkanlaskenta"]
    with pytest.raises(Conflict, match="holds files or folders now, so it stays"):
        service.undo(session_factory, writer_for, firm.admin, parent.id)
    assert (drive / me / "Palkanlaskenta/2026").is_dir()
    session.expire_all()
    assert session.get(FolderAction, parent.id).status == "applied"
    with pytest.raises(Conflict, match="only an applied action"):
        service.undo(session_factory, writer_for, firm.admin, rename.id)
    # Something new at the old name blocks moving back: nothing is replaced.
    folded = actions[me + "kirjanpito 2027"]
    make_tree(drive, [me + "kirjanpito 2027/uusi.pdf"])
    with pytest.raises(Conflict, match="cannot be moved back without replacing it"):
        service.undo(session_factory, writer_for, firm.admin, folded.id)
    assert (drive / me / "Kirjanpito/2027/tosite.pdf").is_file()
