"""Browsing a client's drive folder, the review list of unmapped folders, and admins'
root mappings.

Browsing goes through the access policy like every client read: a client the reader may
not see is "not found"; file and folder names are shown from the ``subject`` level up
(the account owner always sees their own drive in full, everyone else at most the
account's share level), so a ``metadata`` reader is refused with the level it would need.
Every browse is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Grant, Principal, require_admin
from hub.access.visibility import entry_level
from hub.accounts.models import Account
from hub.clients.service import get_client_for_admin, get_visible_client
from hub.drive import index, roots
from hub.drive.models import ClientRoot, DriveFolder
from hub.drive.schemas import (
    DriveEntryOut,
    DriveRootIn,
    DriveRootOut,
    FolderListingOut,
    UnmappedFolderOut,
)
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.paging import Page, clamp_limit, decode_cursor, encode_cursor


def _client_roots(session: Session, client_id: int,
                  account_id: int | None) -> list[tuple[ClientRoot, Account]]:
    stmt = (select(ClientRoot, Account).join(Account, Account.id == ClientRoot.account_id)
            .where(ClientRoot.client_id == client_id).order_by(ClientRoot.account_id,
                                                               ClientRoot.path))
    if account_id is not None:
        stmt = stmt.where(ClientRoot.account_id == account_id)
    return [(root, account) for root, account in session.execute(stmt)]


def files_level(principal: Principal, grant: Grant, account: Account) -> Level:
    """As for the account's timeline entries: the owner sees their drive in full."""
    return entry_level(grant.level, reader_id=principal.user_id,
                       owner_ids={account.owner_user_id}, share_level=account.share_level)


def _subfolder(path: str) -> str:
    parts = [p for p in path.strip().strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise InvalidInput("the path may not contain '.' or '..'; give folder names from "
                           "the client's root down", field="path")
    return "".join(f"{p}/" for p in parts)


def _after(cursor: str | None) -> tuple[bool, str] | None:
    """(a folder?, name) of the last entry of the previous page."""
    if not cursor:
        return None
    mark = decode_cursor(cursor, {"f": bool, "n": str}, "after")
    return mark["f"], mark["n"]


@dataclass(frozen=True, slots=True)
class _Opened:
    """A folder under a client's root that the reader may browse, and the grant for it;
    ``folder`` None when the client has no drive folder or its root is not indexed yet."""

    grant: Grant
    level: Level
    sub: str
    root: ClientRoot | None
    account: Account | None
    folder: DriveFolder | None

    def listing(self, client_id: int, items: list[DriveEntryOut] | None = None,
                nxt: str | None = None) -> FolderListingOut:
        return FolderListingOut(
            client_id=client_id, account_id=self.account.id if self.account else None,
            root=self.root.path if self.root else None, path=self.sub,
            level=self.level.label, items=items or [], next=nxt)


def _open(session: Session, principal: Principal, client_id: int, at: datetime, path: str,
          account_id: int | None) -> _Opened:
    """The access decision of every browse: the client visible, names shown from the
    ``subject`` level up, one drive folder chosen."""
    _, grant = get_visible_client(session, principal, client_id, at)
    sub = _subfolder(path)
    found = _client_roots(session, client_id, account_id)
    if len(found) > 1:
        names = ", ".join(f"account {a.id}: {r.path!r}" for r, a in found)
        raise InvalidInput(f"this client has several drive folders ({names}); give account_id, "
                           "or have an admin choose one with PUT /clients/{id}/drive-root",
                           field="account_id")
    root, account = found[0] if found else (None, None)
    level = grant.level if account is None else files_level(principal, grant, account)
    if level < Level.SUBJECT:
        raise PermissionDenied(
            f"you see this client's files only at the '{level.label}' level, which shows "
            "that files changed but not their names; browsing folders needs the 'subject' "
            "level or higher - ask the client's responsible person or an admin")
    if root is None or account is None:
        if account_id is not None:
            raise NotFound(f"the client has no folder on account {account_id}")
        return _Opened(grant, level, sub, None, None, None)
    folder = index.live_folder(session, account.id, root.path + sub)
    if folder is None and sub:
        raise NotFound(f"no folder {sub!r} in this client's drive folder")
    return _Opened(grant, level, sub, root, account, folder)


def _listed(session: Session, opened: _Opened) -> list[tuple[bool, str, Any]]:
    """(a file?, name, row) of every subfolder and file of the opened folder."""
    assert opened.account is not None and opened.folder is not None
    listed: list[tuple[bool, str, Any]] = [
        (False, f.name, f)
        for f in index.subfolders(session, opened.account.id, opened.folder.path)]
    return listed + [(True, row.name, row) for row in opened.folder.files]


def _shown(session: Session, principal: Principal, client_id: int, opened: _Opened,
           page: list[index.Entry], nxt: str | None, order: str) -> FolderListingOut:
    """The page as the API shows it, on the audit trail."""
    assert opened.root is not None and opened.account is not None
    root = opened.root.path
    items = [DriveEntryOut(id=e.folder_id if e.is_folder else None, name=e.name,
                           path=e.path[len(root):], is_folder=e.is_folder, size=e.size,
                           content_type=e.content_type, modified=e.modified,
                           modified_by=e.modified_by) for e in page]
    account = opened.account
    via = "owner" if principal.user_id == account.owner_user_id else opened.grant.reason
    detail: dict[str, Any] = {"account_id": account.id, "path": opened.sub,
                              "items": len(items), "level": opened.level.label}
    if order != "name":
        detail["order"] = order
    audit.record(session, actor_user_id=principal.user_id, action="files.read",
                 client_id=client_id, grant=via, own_transaction=True, detail=detail)
    return opened.listing(client_id, items, nxt)


def browse(session: Session, principal: Principal, client_id: int, at: datetime, *,
           path: str = "", account_id: int | None = None, limit: int | None = None,
           after: str | None = None) -> FolderListingOut:
    """One folder under the client's root: folders first, then files, by name. Audited."""
    opened = _open(session, principal, client_id, at, path, account_id)
    size = clamp_limit(limit)
    if opened.folder is None:
        return opened.listing(client_id)
    folder = opened.folder
    # Folders first, then files, each by name as Python orders names (the database's
    # collation may differ, and the page cursor is compared here): one folder's row
    # holds its files. Entries are built for the page only.
    listed = sorted(_listed(session, opened), key=lambda t: (t[0], t[1]))
    mark = _after(after)
    if mark is not None:
        listed = [t for t in listed if t[:2] > (not mark[0], mark[1])]
    more = len(listed) > size
    page = [index.file_entry(folder, what) if is_file else index.folder_entry(what)
            for is_file, _, what in listed[:size]]
    nxt = encode_cursor({"f": page[-1].is_folder, "n": page[-1].name}) if more else None
    return _shown(session, principal, client_id, opened, page, nxt, "name")


def _newest_key(entry: index.Entry) -> tuple[bool, int, str, bool]:
    """Newest change first; entries without a time last; then by name, folders first."""
    micros = int(entry.modified.timestamp() * 1_000_000) if entry.modified else 0
    return entry.modified is None, -micros, entry.name, not entry.is_folder


def browse_newest(session: Session, principal: Principal, client_id: int, at: datetime, *,
                  path: str = "", account_id: int | None = None, limit: int | None = None,
                  after: str | None = None) -> FolderListingOut:
    """One folder under the client's root, its folders and files together, the newest
    change first (a folder by its own modification time). Access as :func:`browse`;
    audited."""
    opened = _open(session, principal, client_id, at, path, account_id)
    size = clamp_limit(limit)
    if opened.folder is None:
        return opened.listing(client_id)
    folder = opened.folder
    ranked = sorted((index.file_entry(folder, what) if is_file else index.folder_entry(what)
                     for is_file, _, what in _listed(session, opened)), key=_newest_key)
    if after:
        mark = decode_cursor(after, {"t": str, "f": bool, "n": str}, "after")
        try:
            last = (mark["t"] == "", -int(mark["t"] or 0), mark["n"], not mark["f"])
        except ValueError as exc:
            raise InvalidInput("the cursor is not one this server handed out; leave it out "
                               "to start from the top", field="after") from exc
        ranked = [e for e in ranked if _newest_key(e) > last]
    more = len(ranked) > size
    page = ranked[:size]
    nxt = None
    if more:
        undated, minus_micros, name, _ = _newest_key(page[-1])
        nxt = encode_cursor({"t": "" if undated else str(-minus_micros),
                             "f": page[-1].is_folder, "n": name})
    return _shown(session, principal, client_id, opened, page, nxt, "newest")


# --- the review list ---------------------------------------------------------------------


def unmapped(session: Session, principal: Principal, *, limit: int | None = None,
             after: str | None = None) -> Page[UnmappedFolderOut]:
    """Folders at the clients level of the principal's drives (admins: all drives) that
    are no client's root, for someone to map or leave."""
    size = clamp_limit(limit)
    mark: dict[str, Any] = (decode_cursor(after, {"a": int, "p": str}, "after") if after
                            else {"a": 0, "p": ""})
    start, start_path = mark["a"], mark["p"]
    stmt = select(Account).where(Account.kind.in_(roots.DRIVE_KINDS), Account.id >= start)
    if not principal.is_admin:
        stmt = stmt.where(Account.owner_user_id == principal.user_id)
    out: list[UnmappedFolderOut] = []
    for account in session.scalars(stmt.order_by(Account.id)):
        level = roots.clients_path(account.settings)
        rows = session.execute(
            select(DriveFolder.path, DriveFolder.name, ClientRoot.origin)
            .outerjoin(ClientRoot, and_(ClientRoot.account_id == DriveFolder.account_id,
                                        ClientRoot.path == DriveFolder.path))
            .where(DriveFolder.account_id == account.id, DriveFolder.parent == level,
                   DriveFolder.path != level, DriveFolder.deleted_at.is_(None),
                   ClientRoot.client_id.is_(None),
                   DriveFolder.path > start_path if account.id == start else true())
            .order_by(DriveFolder.path).limit(size + 1 - len(out)))
        out += [UnmappedFolderOut(account_id=account.id, account_name=account.name,
                                  path=path, name=name, cleared=origin == "manual")
                for path, name, origin in rows]
        if len(out) > size:
            break
    more = len(out) > size
    out = out[:size]
    nxt = encode_cursor({"a": out[-1].account_id, "p": out[-1].path}) if more else None
    return Page(out, nxt)


# --- admins' mappings --------------------------------------------------------------------


def _drive_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.kind not in roots.DRIVE_KINDS:
        raise InvalidInput(f"no drive account with id {account_id}; list accounts with "
                           "GET /api/v1/accounts", field="account_id")
    return account


def set_root(session: Session, principal: Principal, client_id: int,
             data: DriveRootIn) -> DriveRootOut:
    """Make a folder the client's root on that drive; the client's other roots on the
    same drive are cleared. A person's decision: recalculation never changes it."""
    require_admin(principal)
    get_client_for_admin(session, client_id)
    account = _drive_account(session, data.account_id)
    path = roots.as_folder(data.path)
    if not path or index.live_folder(session, account.id, path) is None:
        raise InvalidInput(f"no folder {path!r} in the index of account {account.id}; check "
                           "the path (relative to the drive root) or sync the account first",
                           field="path")
    for other in session.scalars(select(ClientRoot.path).where(
            ClientRoot.account_id == account.id, ClientRoot.client_id == client_id,
            ClientRoot.path != path)).all():
        roots.decide(session, account, other, None, principal.user_id)
    old, items = roots.decide(session, account, path, client_id, principal.user_id)
    audit.record(session, actor_user_id=principal.user_id, action="drive_root.set",
                 client_id=client_id, detail={"account_id": account.id, "path": path,
                                              "previous_client_id": old})
    return DriveRootOut(client_id=client_id, account_id=account.id, path=path,
                        origin="manual", items=items)


def clear_root(session: Session, principal: Principal, client_id: int, account_id: int,
               path: str | None = None) -> list[str]:
    """Clear the client's root(s) on a drive; automatic matching will not map them again."""
    require_admin(principal)
    get_client_for_admin(session, client_id)
    account = _drive_account(session, account_id)
    stmt = select(ClientRoot.path).where(ClientRoot.account_id == account.id,
                                         ClientRoot.client_id == client_id)
    if path is not None:
        stmt = stmt.where(ClientRoot.path == roots.as_folder(path))
    cleared = list(session.scalars(stmt).all())
    if not cleared:
        raise NotFound(f"the client has no root folder{' ' + repr(path) if path else ''} on "
                       f"account {account_id}")
    for folder in cleared:
        roots.decide(session, account, folder, None, principal.user_id)
    audit.record(session, actor_user_id=principal.user_id, action="drive_root.clear",
                 client_id=client_id, detail={"account_id": account.id, "paths": cleared})
    return cleared


__all__ = ["browse", "browse_newest", "clear_root", "files_level", "set_root", "unmapped"]
