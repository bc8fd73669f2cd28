"""Folder enforcement as the scheduler and the API run it: plain functions, no Celery.

:func:`enforce_folders` is the scheduled job (daily is plenty): it refreshes each drive's
index, checks every client folder against its template, plans the fixes and, when the firm
allows it, creates the missing folders - next fiscal year's among them, ahead of time. The
other functions carry out an admin's decisions and then refresh the index, so that the next
check sees the drive as it now is rather than proposing the same fix again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from connectors.local.connector import LocalFolderConnector
from connectors.local.writer import LocalFolderWriter
from connectors.webdav.connector import WebDavConnector
from connectors.webdav.writer import WebDavWriter
from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.accounts.secrets import reveal_secret
from hub.errors import InvalidInput
from hub.folders import service
from hub.folders.apply import ApplyReport, Progress
from hub.folders.models import FolderAction
from hub.folders.writer import DriveWriter
from hub.timeutil import firm_today
from workers.sync import connector_for, sync_account


def writer_for(account: Account) -> DriveWriter:
    """The drive writer of an account, built from the same settings as its connector."""
    connector = connector_for(account, reveal_secret(account))
    if isinstance(connector, LocalFolderConnector):
        return LocalFolderWriter(connector.root)
    if isinstance(connector, WebDavConnector):
        return WebDavWriter(connector)
    raise InvalidInput(f"folders cannot be changed on {account.kind} accounts", field="kind")


def refresh(factory: sessionmaker[Session], account_ids: Collection[int]) -> None:
    for account_id in sorted(set(account_ids)):
        sync_account(factory, account_id)


def apply_approved(factory: sessionmaker[Session], principal: Principal | None, *,
                   account_id: int | None = None, action_ids: Collection[int] | None = None,
                   progress: Progress | None = None) -> ApplyReport:
    report = service.apply(factory, writer_for, principal, account_id=account_id,
                           action_ids=action_ids, progress=progress)
    _refresh_after(factory, report.applied)
    return report


def undo(factory: sessionmaker[Session], principal: Principal, action_id: int) -> FolderAction:
    action = service.undo(factory, writer_for, principal, action_id)
    refresh(factory, [action.account_id])
    return action


def create_client_tree(factory: sessionmaker[Session], principal: Principal, client_id: int,
                       account_id: int, today: date | None = None
                       ) -> tuple[list[FolderAction], ApplyReport]:
    refresh(factory, [account_id])  # what is there already is left alone
    actions, report = service.create_client_tree(factory, writer_for, principal, client_id,
                                                 account_id, today or firm_today())
    refresh(factory, [account_id])  # the new root is matched to its client on the way
    return actions, report


def enforce_folders(factory: sessionmaker[Session],
                    today: date | None = None) -> list[service.EnforceReport]:
    """The scheduled run over every drive account."""
    with factory() as session:
        accounts = [a.id for a in service.drive_accounts(session)]
    refresh(factory, accounts)
    reports = service.enforce(factory, writer_for, today or firm_today())
    _refresh_after(factory, [i for r in reports for i in r.applied.applied])
    return reports


def _refresh_after(factory: sessionmaker[Session], applied: Collection[int]) -> None:
    if not applied:
        return
    with factory() as session:
        accounts = service.accounts_of(session, applied)
    refresh(factory, accounts)


__all__ = ["apply_approved", "create_client_tree", "enforce_folders",
           "refresh", "undo", "writer_for"]
