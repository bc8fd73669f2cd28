"""Which folder is which client's root, and so which client each drive folder is filed under.

A drive account's ``settings["clients_path"]`` names the folder that holds the client
folders (default ``""``: the drive's top-level folders are the client roots). A folder at
that level is mapped automatically when its name matches exactly one client by the root
pattern (``settings["root_pattern"]``, default ``{customer_number} {client_name}``,
tolerant of case, spacing and Finnish letters) or by a business ID written in it - see
:mod:`hub.naming`. A folder that matches no client, or several, stays unmapped and
is listed for review.

An admin may map any folder of the drive to a client, or clear a mapping; such a
``manual`` decision is final - recalculation never changes it - and a cleared one keeps
automatic matching away from that folder too. An item belongs to the client of the
deepest mapped root at or above it. When a mapping changes, the items under the folder
are re-filed at once and the folder's timeline entries follow it
(:func:`hub.drive.entries.refile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.clients.models import Client
from hub.db import utcnow
from hub.drive.entries import refile, reshare
from hub.drive.index import items_under
from hub.drive.listing import name_of, parent_of
from hub.drive.models import ClientRoot, DriveFolder
from hub.naming import DEFAULT_ROOT_PATTERN, ClientFacts, RootIndex

DRIVE_KINDS = ("local", "webdav")


def clients_path(settings: Mapping[str, Any] | None) -> str:
    """The account's clients folder as a folder path: ``""`` or ``Asiakkaat/``."""
    raw = str((settings or {}).get("clients_path") or "").strip().strip("/")
    return f"{raw}/" if raw else ""


def as_folder(path: str) -> str:
    cleaned = path.strip().strip("/")
    return f"{cleaned}/" if cleaned else ""


def client_index(session: Session, pattern: str) -> tuple[RootIndex, dict[int | str, int]]:
    """Every client by root name and business ID, and the client id per customer number."""
    facts: list[ClientFacts] = []
    ids: dict[int | str, int] = {}
    for cid, number, name, business_id in session.execute(
            select(Client.id, Client.customer_number, Client.name, Client.business_id)):
        facts.append(ClientFacts(customer_number=number, name=name, business_id=business_id))
        ids[number] = cid
    return RootIndex(facts, pattern), ids


@dataclass(slots=True)
class RootMap:
    """One account's roots, read once per transaction by the sink (which keeps it for the
    transaction, and reads it again after a savepoint that may have decided a root rolled
    back)."""

    account_id: int
    level: str
    pattern: str
    #: path -> client id (None: a manual clear) for every row of client_roots.
    roots: dict[str, int | None]
    undecided: set[str] = field(default_factory=set)
    _index: tuple[RootIndex, dict[int | str, int]] | None = None

    def top_folder(self, path: str) -> str | None:
        """The folder at the clients level that ``path`` is in (or is), if any."""
        if not path.startswith(self.level) or path == self.level:
            return None
        head, sep, _ = path[len(self.level):].partition("/")
        return f"{self.level}{head}/" if sep else None

    def client_for(self, session: Session, path: str) -> tuple[int | None, str | None]:
        """(client id, client root) for an item; the root is decided on first sight."""
        top = self.top_folder(path)
        if top is not None and top not in self.roots and top not in self.undecided:
            self._decide(session, top)
        folder = path if path.endswith("/") else parent_of(path)
        while folder:
            if folder in self.roots:
                client = self.roots[folder]
                return (client, folder) if client is not None else (None, None)
            folder = parent_of(folder)
        return None, None

    def root_of(self, path: str) -> str | None:
        """The mapped root an item is under, without deciding anything new."""
        folder = path if path.endswith("/") else parent_of(path)
        while folder:
            if self.roots.get(folder) is not None:
                return folder
            if folder in self.roots:
                return None
            folder = parent_of(folder)
        return None

    def _decide(self, session: Session, top: str) -> None:
        if self._index is None:
            self._index = client_index(session, self.pattern)
        index, ids = self._index
        found = index.match(name_of(top))
        if found is None:
            self.undecided.add(top)
            return
        client_id = ids[found.client.customer_number]
        session.execute(insert(cast(Table, ClientRoot.__table__)).values(
            account_id=self.account_id, path=top, client_id=client_id, origin="auto",
            updated_at=utcnow()))
        self.roots[top] = client_id
        folders = cast(Table, DriveFolder.__table__)
        if session.connection().execute(select(folders.c.id).where(
                folders.c.account_id == self.account_id,
                folders.c.path.startswith(top, autoescape=True)).limit(1)).first() is None:
            return  # a folder seen for the first time: nothing is filed under it yet
        account = session.get(Account, self.account_id)
        assert account is not None
        # Folders may already be here from before the client existed: file them now.
        reassign(session, account, top, None, client_id, utcnow())


def root_map(session: Session, account: Account) -> RootMap:
    """The account's roots as they are stored now."""
    settings = account.settings or {}
    return RootMap(
        account.id, clients_path(settings),
        str(settings.get("root_pattern") or DEFAULT_ROOT_PATTERN),
        {path: client for path, client in session.execute(select(
            ClientRoot.path, ClientRoot.client_id).where(
            ClientRoot.account_id == account.id))})


def _effective(session: Session, account_id: int, path: str) -> int | None:
    """The client of the deepest mapped root at or above ``path``."""
    rows = {path: client for path, client in session.execute(select(
        ClientRoot.path, ClientRoot.client_id).where(ClientRoot.account_id == account_id))}
    folder = path
    while folder:
        if folder in rows:
            return rows[folder]
        folder = parent_of(folder)
    return None


def reassign(session: Session, account: Account, root: str, old: int | None,
             new: int | None, now: datetime) -> int:
    """Re-file every folder (and so every file) under ``root`` after its mapping changed
    from ``old`` to ``new``; deeper roots keep their own clients. Returns the number of
    files and folders re-filed, ``root`` itself among them."""
    table = cast(Table, DriveFolder.__table__)
    session.execute(update(table).where(
        table.c.account_id == account.id, table.c.path.startswith(root, autoescape=True))
        .values(client_id=_effective(session, account.id, root)))
    deeper = session.execute(select(ClientRoot.path, ClientRoot.client_id).where(
        ClientRoot.account_id == account.id, ClientRoot.path != root,
        ClientRoot.path.startswith(root, autoescape=True))).all()
    for path, client_id in sorted(deeper, key=lambda row: len(row[0])):
        session.execute(update(table).where(
            table.c.account_id == account.id,
            table.c.path.startswith(path, autoescape=True)).values(client_id=client_id))
    refile(session, account, root, old, new, now)
    return items_under(session, account.id, root)


def account_changed(session: Session, account: Account) -> None:
    """A drive account's settings or share level changed: its entries carry the new share
    level, and its folders are matched again (the clients folder may have moved)."""
    reshare(session, account)
    recalculate(session, account)


def recalculate(session: Session, account: Account) -> int:
    """Match the folders at the clients level to clients again (clients are added and
    renamed); manual decisions stay. Returns how many mappings changed."""
    level = clients_path(account.settings)
    pattern = str((account.settings or {}).get("root_pattern") or DEFAULT_ROOT_PATTERN)
    index, ids = client_index(session, pattern)
    rows = {r.path: r for r in session.scalars(select(ClientRoot).where(
        ClientRoot.account_id == account.id))}
    folders = session.scalars(select(DriveFolder.path).where(
        DriveFolder.account_id == account.id, DriveFolder.parent == level,
        DriveFolder.path != level, DriveFolder.deleted_at.is_(None)))
    changes: list[tuple[str, int | None, int | None]] = []
    for path in folders:
        row = rows.get(path)
        if row is not None and row.origin == "manual":
            continue
        found = index.match(name_of(path))
        client_id = ids[found.client.customer_number] if found else None
        if row is None and client_id is not None:
            session.add(ClientRoot(account_id=account.id, path=path, client_id=client_id,
                                   origin="auto"))
            changes.append((path, None, client_id))
        elif row is not None and row.client_id != client_id:
            changes.append((path, row.client_id, client_id))
            if client_id is None:
                session.delete(row)
            else:
                row.client_id = client_id
    # Automatic roots left at another level (the clients folder was changed) lapse.
    for path, row in rows.items():
        if row.origin == "auto" and parent_of(path) != level:
            changes.append((path, row.client_id, None))
            session.delete(row)
    session.flush()
    now = utcnow()
    for path, old, new in changes:
        reassign(session, account, path, old, new, now)
    return len(changes)


def decide(session: Session, account: Account, path: str, client_id: int | None,
           decided_by: int | None) -> tuple[int | None, int]:
    """An admin's mapping of ``path`` (``None``: cleared). Returns (the client its items
    were filed under, the number of items re-filed)."""
    row = session.scalar(select(ClientRoot).where(ClientRoot.account_id == account.id,
                                                  ClientRoot.path == path))
    # Whose the items were: the folder's own mapping, or the root above it.
    old = _effective(session, account.id, path)
    if row is None:
        row = ClientRoot(account_id=account.id, path=path, origin="manual")
        session.add(row)
    row.client_id, row.origin, row.decided_by = client_id, "manual", decided_by
    session.flush()
    moved = reassign(session, account, path, old, client_id, utcnow())
    return old, moved

