"""Folder enforcement as the API, the CLI and the workers use it.

* ``drift`` - findings per client root, computed from the drive index on demand;
* ``plan`` - findings into stored actions (creates automatic if the firm allows);
* ``approve`` / ``apply`` / ``undo`` - a person's decision, carried out on the drive;
* ``create_client_tree`` - a new client's root and folders, at an admin's request;
* ``enforce`` - what the scheduler runs: check, plan and the automatic creates, for every
  drive account; run it daily and next year's folders appear ``year_lead_days`` early.

Drives are reached through a :class:`~hub.folders.writer.DriveWriter` that the caller
builds for an account (:func:`hub.flows.sync.writer_for`): the hub never speaks a source's
protocol. Reads and writes here are admin-only (:func:`hub.access.policy.require_admin`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from hub.access import audit
from hub.access.policy import Principal, require_admin
from hub.accounts.models import Account
from hub.clients.models import Client
from hub.db import unit_of_work, utcnow
from hub.drive.roots import DRIVE_KINDS, clients_path
from hub.errors import Conflict, InvalidInput, NotFound
from hub.folders.apply import ApplyReport, Progress, WriterFor, apply_account, undo_action
from hub.folders.check import ClientDrift, check, planning_year, register
from hub.folders.index import MappedRoot, entries_under, mapped_roots
from hub.folders.models import FolderAction
from hub.folders.planning import PlanReport, Wanted, join, store, wanted_actions
from hub.folders.schemas import ClientDriftOut, FindingOut
from hub.folders.template import expand
from hub.folders.templates import folder_settings, template_book
from hub.paging import MAX_LIMIT, Page, clamp_limit, decode_cursor, page_of


def drive_accounts(session: Session, account_id: int | None = None) -> list[Account]:
    stmt = select(Account).where(Account.kind.in_(DRIVE_KINDS), Account.enabled.is_(True))
    if account_id is not None:
        stmt = stmt.where(Account.id == account_id)
    accounts = list(session.scalars(stmt.order_by(Account.id)))
    if account_id is not None and not accounts:
        raise NotFound(f"no enabled drive account with id {account_id}; see "
                       "GET /api/v1/accounts")
    return accounts


def drift(session: Session, principal: Principal | None, today: date, *,
          account_id: int | None = None, client_id: int | None = None) -> list[ClientDrift]:
    """``principal`` None is the command line on the server. Findings name a client's
    files: the read is on record, as reads of documents are."""
    if principal is not None:
        require_admin(principal)
    found = check(session, today, account_id=account_id, client_id=client_id)
    audit.record_by(session, principal, "folders.drift_read", client_id=client_id,
                    own_transaction=True,
                    detail={"account_id": account_id, "clients": len(found)})
    return found


def describe_drift(found: ClientDrift) -> ClientDriftOut:
    return ClientDriftOut(
        account_id=found.account_id, client_id=found.client_id,
        customer_number=found.customer_number, client_name=found.client_name,
        root=found.root, year=found.year,
        findings=[FindingOut(kind=f.kind, path=f.path, proposed=f.proposed,
                             target_exists=f.target_exists, detail=f.detail,
                             other_client_number=str(f.other_client.customer_number)
                             if f.other_client else None)
                  for f in found.findings])


def plan(session: Session, principal: Principal | None, today: date, *,
         account_id: int | None = None, client_id: int | None = None) -> PlanReport:
    """Check and store the fixes, on the audit trail; ``principal`` None is the command
    line on the server."""
    if principal is not None:
        require_admin(principal)
    report = _plan(session, today, account_id=account_id, client_id=client_id)
    audit.record_by(session, principal, "folders.plan",
                    detail={"account_id": account_id, "client_id": client_id,
                            "created": len(report.created), "stale": report.stale})
    return report


def _plan(session: Session, today: date, *, account_id: int | None,
          client_id: int | None) -> PlanReport:
    accounts = [a.id for a in drive_accounts(session, account_id)]
    settings = folder_settings(session)
    report = PlanReport(year=planning_year(today, settings.year_lead_days))
    drifts = check(session, today, account_id=account_id, client_id=client_id)
    wanted, report.by_hand = wanted_actions(drifts, register(session),
                                            mapped_roots(session), template_book(session),
                                            settings.auto_create)
    return store(session, wanted, account_ids=accounts, client_id=client_id, report=report)


def accounts_of(session: Session, action_ids: Collection[int]) -> set[int]:
    return set(session.scalars(select(FolderAction.account_id).distinct()
                               .where(FolderAction.id.in_(list(action_ids)))))


def list_actions(session: Session, principal: Principal, *, status: str | None = None,
                 client_id: int | None = None, account_id: int | None = None,
                 after: str | None = None, limit: int | None = None) -> Page[FolderAction]:
    """Actions in the order they run (account, plan order), a page at a time."""
    require_admin(principal)
    size = clamp_limit(limit, MAX_LIMIT)
    stmt = select(FolderAction)
    if status is not None:
        stmt = stmt.where(FolderAction.status == status)
    if client_id is not None:
        stmt = stmt.where(FolderAction.client_id == client_id)
    if account_id is not None:
        stmt = stmt.where(FolderAction.account_id == account_id)
    order = (FolderAction.account_id, FolderAction.seq, FolderAction.id)
    if after is not None:
        mark = decode_cursor(after, {"a": int, "s": int, "i": int}, "after")
        stmt = stmt.where(tuple_(*order) > tuple_(mark["a"], mark["s"], mark["i"]))
    rows = list(session.scalars(stmt.order_by(*order).limit(size + 1)))
    return page_of(rows, size, lambda a: {"a": a.account_id, "s": a.seq, "i": a.id})


def actions_by_ids(session: Session, principal: Principal | None,
                   ids: Collection[int]) -> list[FolderAction]:
    if principal is not None:
        require_admin(principal)
    stmt = select(FolderAction).where(FolderAction.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(FolderAction.account_id, FolderAction.seq,
                                              FolderAction.id)))


def get_action(session: Session, principal: Principal, action_id: int) -> FolderAction:
    require_admin(principal)
    action = session.get(FolderAction, action_id)
    if action is None:
        raise NotFound(f"no folder action with id {action_id}")
    return action


def approve(session: Session, principal: Principal, action_id: int) -> FolderAction:
    """Approve a proposed action, or a failed one for another try."""
    action = get_action(session, principal, action_id)
    if action.status not in ("proposed", "failed"):
        raise Conflict(f"action {action_id} is {action.status}; only a proposed or failed "
                       "action can be approved")
    action.status, action.automatic = "approved", False
    action.approved_by, action.approved_at = principal.user_id, utcnow()
    audit.record(session, actor_user_id=principal.user_id, action="folders.action_approved",
                 client_id=action.client_id, detail={"action": action.id})
    session.flush()
    return action


def reject(session: Session, principal: Principal, action_id: int) -> FolderAction:
    """Take a proposed (or failed) action off the queue without touching the drive. The
    finding is not silenced: if the drift is still there at the next check, the fix is
    proposed again, so the folder is put right by hand or the template changed."""
    action = get_action(session, principal, action_id)
    if action.status not in ("proposed", "failed"):
        raise Conflict(f"action {action_id} is {action.status}; only a proposed or failed "
                       "action can be rejected")
    action.status, action.result = "stale", "rejected by an admin"
    audit.record(session, actor_user_id=principal.user_id, action="folders.action_rejected",
                 client_id=action.client_id, detail={"action": action.id})
    session.flush()
    return action


def apply(factory: sessionmaker[Session], writer_for: WriterFor, principal: Principal | None,
          *, account_id: int | None = None, action_ids: Collection[int] | None = None,
          automatic_only: bool = False, progress: Progress | None = None) -> ApplyReport:
    """Carry out approved actions (all, one account's, or the given ones)."""
    if principal is not None:
        require_admin(principal)
    with unit_of_work(factory) as session:
        accounts = drive_accounts(session, account_id)
        if action_ids is not None:
            _check_runnable(session, action_ids)
    report = ApplyReport()
    for account in accounts:
        writer = writer_for(account)
        try:
            apply_account(factory, account.id, writer,
                          actor=principal.user_id if principal else None,
                          action_ids=action_ids, automatic_only=automatic_only,
                          progress=progress, report=report)
        finally:
            writer.close()
    return report


def _check_runnable(session: Session, action_ids: Collection[int]) -> None:
    rows = {a.id: a for a in session.scalars(
        select(FolderAction).where(FolderAction.id.in_(list(action_ids))))}
    for action_id in action_ids:
        action = rows.get(action_id)
        if action is None:
            raise NotFound(f"no folder action with id {action_id}")
        if action.status == "proposed":
            raise Conflict(f"action {action_id} is not approved yet; approve it first")


def undo(factory: sessionmaker[Session], writer_for: WriterFor, principal: Principal,
         action_id: int) -> FolderAction:
    require_admin(principal)
    return undo_action(factory, action_id, writer_for, principal.user_id)


def create_client_tree(factory: sessionmaker[Session], writer_for: WriterFor,
                       principal: Principal, client_id: int, account_id: int,
                       today: date) -> tuple[list[FolderAction], ApplyReport]:
    """The client's folders on the drive, from its template, at an admin's request: its
    root too if the drive has none for it yet. What exists already is left as it is."""
    require_admin(principal)
    with unit_of_work(factory) as session:
        account = drive_accounts(session, account_id)[0]
        client = session.get(Client, client_id)
        if client is None:
            raise NotFound(f"no client with id {client_id}")
        if client.status == "archived":
            raise InvalidInput("an archived client gets no new folders; make it active first",
                               field="client_id")
        firm = register(session)
        template = template_book(session).for_client(client)
        year = planning_year(today, folder_settings(session).year_lead_days)
        facts = firm.facts[client.id]
        roots = mapped_roots(session, account_id=account_id, client_id=client_id)
        if roots:
            root, present = roots[0].path, set(entries_under(session, account_id, roots[0].path))
            paths = [p for p in expand(template, facts, year) if f"{p}/" not in present]
        else:
            root = clients_path(account.settings) + template.root_name(facts)
            paths = ["", *expand(template, facts, year)]
        wanted = [Wanted(account_id, client_id, "create", join(root, p), None, True,
                         "missing_folder", f"the template asks for {join(root, p)!r}", False)
                  for p in paths]
        report = store(session, wanted, account_ids=[account_id], client_id=client_id,
                       report=PlanReport(year=year), approved_by=principal.user_id,
                       sweep=False)
        ids = [a.id for a in report.actions]
    writer = writer_for(_account(factory, account_id))
    try:
        applied = apply_account(factory, account_id, writer, actor=principal.user_id,
                                action_ids=ids)
    finally:
        writer.close()
    with factory() as session:
        actions = list(session.scalars(select(FolderAction).where(FolderAction.id.in_(ids))
                                       .order_by(FolderAction.seq)))
    return actions, applied


def _account(factory: sessionmaker[Session], account_id: int) -> Account:
    with factory() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account


@dataclass(frozen=True, slots=True)
class EnforceReport:
    account_id: int
    plan: PlanReport
    applied: ApplyReport


def enforce(factory: sessionmaker[Session], writer_for: WriterFor,
            today: date) -> list[EnforceReport]:
    """The scheduled run: check and plan every drive account, then carry out the creates
    the firm lets run by themselves. Renames and moves wait for an admin's apply."""
    reports: list[EnforceReport] = []
    with factory() as session:
        accounts = drive_accounts(session)
    for account in accounts:
        with unit_of_work(factory) as session:
            planned = _plan(session, today, account_id=account.id, client_id=None)
            auto = folder_settings(session).auto_create
        applied = ApplyReport()
        if auto:
            writer = writer_for(account)
            try:
                apply_account(factory, account.id, writer, actor=None, automatic_only=True,
                              report=applied)
            finally:
                writer.close()
        reports.append(EnforceReport(account.id, planned, applied))
    return reports


__all__ = ["DRIVE_KINDS", "EnforceReport", "MappedRoot", "accounts_of", "actions_by_ids",
           "apply", "approve", "create_client_tree", "describe_drift", "drift",
           "drive_accounts", "enforce", "get_action", "list_actions", "plan", "reject",
           "undo"]
