"""Folder enforcement as the scheduler, the API and the CLI run it.

:func:`enforce_folders` is the scheduled job (daily is plenty): it refreshes each drive's
index, checks every client folder against its template, plans the fixes and, when the firm
allows it, creates the missing folders - next fiscal year's among them, ahead of time. The
other functions carry out an admin's decisions and then refresh the index, so that the next
check sees the drive as it now is rather than proposing the same fix again. The drive
writers come from the caller's :class:`hub.flows.sync.Sources`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from hub.access.policy import Principal
from hub.flows.sync import Sources, sync_account, writer_for
from hub.folders import service
from hub.folders.apply import ApplyReport, Progress
from hub.folders.models import FolderAction
from hub.timeutil import firm_today


def refresh(factory: sessionmaker[Session], sources: Sources,
            account_ids: Collection[int]) -> None:
    for account_id in sorted(set(account_ids)):
        sync_account(factory, sources, account_id)


def apply_approved(factory: sessionmaker[Session], sources: Sources,
                   principal: Principal | None, *, account_id: int | None = None,
                   action_ids: Collection[int] | None = None,
                   progress: Progress | None = None) -> ApplyReport:
    report = service.apply(factory, writer_for(sources), principal, account_id=account_id,
                           action_ids=action_ids, progress=progress)
    _refresh_after(factory, sources, report.applied)
    return report


def undo(factory: sessionmaker[Session], sources: Sources, principal: Principal,
         action_id: int) -> FolderAction:
    action = service.undo(factory, writer_for(sources), principal, action_id)
    refresh(factory, sources, [action.account_id])
    return action


def create_client_tree(factory: sessionmaker[Session], sources: Sources, principal: Principal,
                       client_id: int, account_id: int, today: date | None = None
                       ) -> tuple[list[FolderAction], ApplyReport]:
    refresh(factory, sources, [account_id])  # what is there already is left alone
    actions, report = service.create_client_tree(factory, writer_for(sources), principal,
                                                 client_id, account_id, today or firm_today())
    refresh(factory, sources, [account_id])  # the new root is matched to its client on the way
    return actions, report


def enforce_folders(factory: sessionmaker[Session], sources: Sources,
                    today: date | None = None) -> list[service.EnforceReport]:
    """The scheduled run over every drive account."""
    with factory() as session:
        accounts = [a.id for a in service.drive_accounts(session)]
    refresh(factory, sources, accounts)
    reports = service.enforce(factory, writer_for(sources), today or firm_today())
    _refresh_after(factory, sources, [i for r in reports for i in r.applied.applied])
    return reports


def _refresh_after(factory: sessionmaker[Session], sources: Sources,
                   applied: Collection[int]) -> None:
    if not applied:
        return
    with factory() as session:
        accounts = service.accounts_of(session, applied)
    refresh(factory, sources, accounts)


__all__ = ["apply_approved", "create_client_tree", "enforce_folders", "refresh", "undo"]
