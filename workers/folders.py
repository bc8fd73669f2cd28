"""Folder enforcement as the scheduler runs it: :mod:`hub.flows.folders` with the drive
writers of :mod:`connectors.registry`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.flows import folders as flows
from hub.flows.sync import writer_for as writers
from hub.folders import service
from hub.folders.apply import ApplyReport, Progress
from hub.folders.models import FolderAction
from hub.folders.writer import DriveWriter


def writer_for(account: Account) -> DriveWriter:
    """The drive writer of an account, built from the same settings as its connector."""
    return writers(registry)(account)


def apply_approved(factory: sessionmaker[Session], principal: Principal | None, *,
                   account_id: int | None = None, action_ids: Collection[int] | None = None,
                   progress: Progress | None = None) -> ApplyReport:
    return flows.apply_approved(factory, registry, principal, account_id=account_id,
                                action_ids=action_ids, progress=progress)


def undo(factory: sessionmaker[Session], principal: Principal, action_id: int) -> FolderAction:
    return flows.undo(factory, registry, principal, action_id)


def create_client_tree(factory: sessionmaker[Session], principal: Principal, client_id: int,
                       account_id: int, today: date | None = None
                       ) -> tuple[list[FolderAction], ApplyReport]:
    return flows.create_client_tree(factory, registry, principal, client_id, account_id, today)


def enforce_folders(factory: sessionmaker[Session],
                    today: date | None = None) -> list[service.EnforceReport]:
    """The scheduled run over every drive account."""
    return flows.enforce_folders(factory, registry, today)


__all__ = ["apply_approved", "create_client_tree", "enforce_folders", "undo", "writer_for"]
