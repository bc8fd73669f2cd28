"""Drive fixtures: client folders on disk, drive accounts, syncing them through the real
runner, and reading back the index and the timeline."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.models import Account
from hub.clients.models import Client
from hub.drive.index import Entry
from hub.drive.index import entries as index_entries
from hub.drive.models import DriveFolder
from hub.drive.sink import DriveSink
from hub.flows.sync import account_row
from hub.staff.models import User
from hub.sync.protocol import Connector
from hub.sync.runner import Runner
from hub.timeline.models import TimelineEntry
from tests import factories as f

#: An old mtime for files that are history, not news.
OLD = datetime(2024, 3, 1, 12, tzinfo=UTC)


def write(root: Path, rel: str, content: bytes = b"x", *, when: datetime | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if when is not None:
        stamp = when.timestamp()
        os.utime(path, (stamp, stamp))
    return path


def client(session: Session, number: int, name: str, business_id: str | None = None) -> Client:
    row = f.client(session, name=name)
    row.customer_number, row.business_id = number, business_id
    session.flush()
    return row


@dataclass
class Drive:
    """A drive account and a way to sync it through the real runner."""

    factory: sessionmaker[Session]
    account_id: int
    owner: User
    connector: Callable[[], Connector]
    clock: Callable[[], datetime] | None = None

    def sync(self) -> None:
        sink = DriveSink(self.clock) if self.clock else DriveSink()
        connector = self.connector()
        try:
            runs = Runner(self.factory, dict.fromkeys(("file", "folder", "listing"), sink),
                          account=account_row).run(self.account_id, connector)
        finally:
            close = getattr(connector, "close", None)
            if close is not None:
                close()
        assert [r.status for r in runs] == ["ok"], [r.message for r in runs]
        assert all(r.errors == 0 for r in runs), [r.message for r in runs]

    def items(self, session: Session) -> dict[str, Entry]:
        """Every live file and folder of the index, by path."""
        session.expire_all()
        return {entry.path: entry for entry in index_entries(session, self.account_id)}

    def folders(self, session: Session) -> dict[str, DriveFolder]:
        """Every folder row, removed ones too."""
        session.expire_all()
        return {row.path: row for row in session.scalars(
            select(DriveFolder).where(DriveFolder.account_id == self.account_id))}


def add_account(session: Session, owner: User, kind: str, settings: Mapping[str, Any],
                share_level: str = "full") -> Account:
    account = Account(owner_user_id=owner.id, kind=kind, name=f"{kind} drive",
                      settings=dict(settings), share_level=share_level)
    session.add(account)
    session.commit()
    return account


def entries(session: Session, client_id: int | None = None) -> list[TimelineEntry]:
    session.expire_all()
    stmt = select(TimelineEntry).where(TimelineEntry.source_kind == "drive")
    if client_id is not None:
        stmt = stmt.where(TimelineEntry.client_id == client_id)
    return list(session.scalars(stmt.order_by(TimelineEntry.id)))


def titles(rows: Iterable[TimelineEntry]) -> list[str]:
    return sorted(row.title for row in rows)


class Clock:
    """A settable clock for the sink: windows are tested at chosen instants."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def owner(session: Session) -> User:
    user = f.user(session, name="Kaisa Kirjanpitäjä")
    session.commit()
    return user


def reader(session: Session, make: Callable[..., Any], of: Client, level: str,
           name: str = "") -> Any:
    """A colleague seeing ``of`` at ``level`` through a seller's responsibility."""
    from sqlalchemy import delete

    from hub.access.models import AccessRule

    caller = make(name=name)
    session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
    f.rule(session, "role", level, role="myyja")
    f.responsibility(session, session.get(User, caller.id), of, role="myyja")
    session.commit()
    return caller


# The API callers of tests/api, for the drive endpoints.
from tests.api.conftest import admin, make_caller  # noqa: E402, F401
