"""Fixtures for folder enforcement: a firm with three clients, drives on disk indexed by a
real sync, and helpers to build and read trees."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.clients.models import Client, SpecialGroup
from hub.folders.writer import DriveWriter
from tests import factories as f
from workers.sync import sync_account

#: A day whose fiscal year is 2026 and stays 2026 with a month's lead.
MIDYEAR = date(2026, 6, 15)
ME_ROOT = "1001 Oy Esimerkki Ab"
OTHER_ROOT = "1002 Toinen Oy"
THIRD_ROOT = "1003 Kolmas Oy"


@dataclass
class Firm:
    admin: Principal
    me: Client
    other: Client
    third: Client


def _client(session: Session, number: int, name: str, business_id: str | None = None,
            specials: list[SpecialGroup] | None = None) -> Client:
    row = Client(name=name, name_key=name.casefold(), customer_number=number,
                 business_id=business_id, status="active", special_groups=specials or [])
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def firm(session: Session) -> Firm:
    """The clients of tests/folders/test_drift.py; 1001 has payroll through a special group
    with a Finnish name."""
    payroll = SpecialGroup(name="Palkanlaskenta", description="")
    session.add(payroll)
    admin = f.user(session, admin=True, name="Anna Admin")
    firm = Firm(Principal.of(admin),
                _client(session, 1001, "Oy Esimerkki Ab", "1234567-1", [payroll]),
                _client(session, 1002, "Toinen Oy"),
                _client(session, 1003, "Kolmas Oy", "7654321-2"))
    session.commit()
    return firm


def make_tree(root: Path, entries: Iterable[str]) -> None:
    """Folders end in '/'; a file gets its own path as content."""
    for entry in entries:
        path = root / entry
        if entry.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(entry, encoding="utf-8")


def tree_of(root: Path) -> set[str]:
    """Every entry below ``root``, relative, folders ending in '/'."""
    return {p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
            for p in root.rglob("*")}


def local_account(session: Session, owner: Principal, path: Path, **settings: str) -> Account:
    account = Account(owner_user_id=owner.user_id, kind="local", name="Drive",
                      settings={"path": str(path), **settings})
    session.add(account)
    session.commit()
    return account


@pytest.fixture
def sync(session_factory: sessionmaker[Session]) -> Callable[[int], None]:
    def run(account_id: int) -> None:
        for result in sync_account(session_factory, account_id):
            assert result.status == "ok", result.message

    return run


class Counting:
    """A writer that counts the drive steps it passes on, and can die after some."""

    def __init__(self, inner: DriveWriter, die_after: int | None = None,
                 die_before_return: bool = False) -> None:
        self.inner = inner
        self.steps: list[tuple[str, str]] = []
        self.die_after = die_after
        self.die_before_return = die_before_return

    def _step(self, name: str, path: str, run: Callable[[], None]) -> None:
        if self.die_after is not None and len(self.steps) >= self.die_after:
            if not self.die_before_return:
                raise ProcessKilled(f"killed before {name} {path}")
            run()
            self.steps.append((name, path))
            raise ProcessKilled(f"killed after {name} {path}, before it was recorded")
        run()
        self.steps.append((name, path))

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def is_empty_folder(self, path: str) -> bool:
        return self.inner.is_empty_folder(path)

    def make_folder(self, path: str) -> None:
        self._step("mkdir", path, lambda: self.inner.make_folder(path))

    def move(self, src: str, dst: str, is_folder: bool) -> None:
        self._step("move", f"{src} -> {dst}", lambda: self.inner.move(src, dst, is_folder))

    def remove_empty_folder(self, path: str) -> None:
        self._step("rmdir", path, lambda: self.inner.remove_empty_folder(path))

    def close(self) -> None:
        self.inner.close()


class ProcessKilled(BaseException):
    """Stands for SIGKILL: nothing catches it, no handler runs."""
