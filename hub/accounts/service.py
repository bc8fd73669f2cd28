"""Accounts: created by their owner (or an admin), secrets encrypted before they are stored.

What an account may point at is :mod:`hub.accounts.targets`'s to say. An account that
reads a path on the server (``mail_archive``, ``local``) is an admin's grant: only an
admin (or the command line, run on the server) adds one or changes its path, for
whichever owner they name, and the audit trail records who granted which path to whom.
Every change to an account is recorded in the same transaction. What a change means for
the account's past entries and drive roots is :mod:`hub.flows.accounts`'s to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Principal, require_admin_or_server
from hub.accounts.models import Account
from hub.accounts.schemas import AccountIn, AccountOut, AccountPatch
from hub.accounts.secrets import reveal_secret, set_secret
from hub.accounts.targets import SERVER_PATH_KINDS, checked_settings
from hub.crypto import Keyring
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.staff.models import User

#: The account kinds a sync reads (a connector serves each: ``connectors/registry.py``).
SYNCABLE_KINDS = ("mail_archive", "imap", "local", "webdav")


def _validate(kind: str, settings: dict[str, object]) -> None:
    needed = {"imap": ("host", "username"), "mail_archive": ("path",), "local": ("path",),
              "webdav": ("url", "username")}.get(kind, ())
    missing = [k for k in needed if not settings.get(k)]
    if missing:
        raise InvalidInput(f"a {kind} account needs settings.{missing[0]}",
                           field=f"settings.{missing[0]}")


def _grants_server_paths(principal: Principal | None) -> bool:
    """An admin, or the command line (``None``): whoever runs it has the server."""
    return principal is None or (principal.is_admin and principal.is_active)


def _server_path_refused(kind: str, what: str) -> PermissionDenied:
    return PermissionDenied(
        f"only an admin may {what} a {kind} account: Client Hub reads it on the server with "
        "its own rights, so an admin grants it (and names its owner); ask an admin")


def _target(account: Account) -> dict[str, object]:
    """What the audit trail keeps of where an account points."""
    keep = {"mail_archive": ("path",), "local": ("path",), "imap": ("host", "port"),
            "webdav": ("url",)}.get(account.kind, ())
    return {k: account.settings[k] for k in keep if k in account.settings}


def create_account(session: Session, principal: Principal | None, data: AccountIn) -> Account:
    """``principal`` None is the command line on the server, which acts as an admin does
    and must name the owner."""
    owner = data.owner_user_id or (principal.user_id if principal is not None else None)
    if owner is None:
        raise InvalidInput("name the account's owner", field="owner_user_id")
    if principal is not None and owner != principal.user_id and not principal.is_admin:
        raise PermissionDenied("only an admin may add an account for a colleague")
    if data.kind in SERVER_PATH_KINDS and not _grants_server_paths(principal):
        raise _server_path_refused(data.kind, "add")
    if session.get(User, owner) is None:
        raise InvalidInput(f"no user with id {owner}", field="owner_user_id")
    _validate(data.kind, data.settings)
    account = Account(owner_user_id=owner, kind=data.kind, name=data.name,
                      settings=checked_settings(data.kind, data.settings),
                      share_level=data.share_level)
    session.add(account)
    session.flush()  # the id is the secret's associated data
    set_secret(account, data.secret.get_secret_value() if data.secret else None)
    session.flush()
    audit.record_by(session, principal, "account.create",
                    detail={"account_id": account.id, "kind": account.kind,
                            "owner_user_id": owner, **_target(account)})
    return account


def visible_accounts(session: Session, principal: Principal) -> Sequence[Account]:
    stmt = select(Account).order_by(Account.id)
    if not principal.is_admin:
        stmt = stmt.where(Account.owner_user_id == principal.user_id)
    return list(session.scalars(stmt))


def all_accounts(session: Session) -> Sequence[Account]:
    """Every account, for the command line run on the server."""
    return list(session.scalars(select(Account).order_by(Account.id)))


def accounts_to_sync(session: Session, account_id: int | None = None) -> Sequence[Account]:
    """The accounts a sync covers, for the scheduler and the command line alike: every
    enabled account of a kind a sync reads, by id; or the one account named (even a
    disabled one: naming it is asking for it), if it exists."""
    if account_id is not None:
        named = session.get(Account, account_id)
        return [named] if named is not None else []
    return list(session.scalars(select(Account).where(
        Account.enabled.is_(True), Account.kind.in_(SYNCABLE_KINDS)).order_by(Account.id)))


def get_account(session: Session, principal: Principal, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or (account.owner_user_id != principal.user_id
                           and not principal.is_admin):
        raise NotFound(f"no account with id {account_id} of yours")
    return account


def update_account(session: Session, principal: Principal, account: Account,
                   patch: AccountPatch) -> Account:
    fields = patch.model_fields_set
    if "name" in fields and patch.name:
        account.name = patch.name
    if "settings" in fields and patch.settings is not None:
        if (account.kind in SERVER_PATH_KINDS and not _grants_server_paths(principal)
                and not _same_path(patch.settings.get("path"), account.settings.get("path"))):
            raise _server_path_refused(account.kind, "change the path of")
        _validate(account.kind, patch.settings)
        account.settings = checked_settings(account.kind, patch.settings)
    if "secret" in fields:
        set_secret(account, patch.secret.get_secret_value() if patch.secret else None)
    if "share_level" in fields and patch.share_level:
        # The owner decides how much of their mailbox colleagues see; an admin may lower
        # it too, but only the owner may raise it again.
        raising = Level.parse(patch.share_level) > Level.parse(account.share_level)
        if raising and principal.user_id != account.owner_user_id:
            raise PermissionDenied("only the mailbox owner may share more of it")
        account.share_level = patch.share_level
    if "enabled" in fields and patch.enabled is not None:
        account.enabled = patch.enabled
    session.flush()
    changed = _target(account) if "settings" in fields else {}
    audit.record_by(session, principal, "account.update",
                    detail={"account_id": account.id, "fields": sorted(fields), **changed})
    return account


def _same_path(given: object, stored: object) -> bool:
    """Does ``given`` name the stored path (spelled alike, or resolving alike)?"""
    if not isinstance(given, str) or not isinstance(stored, str):
        return False
    if given == stored:
        return True
    try:
        return Path(given).is_absolute() and Path(given).resolve() == Path(stored).resolve()
    except (OSError, ValueError):
        return False


def delete_account(session: Session, principal: Principal, account: Account) -> None:
    account_id = account.id
    session.delete(account)
    session.flush()
    audit.record_by(session, principal, "account.delete", detail={"account_id": account_id})


def describe(account: Account) -> AccountOut:
    return AccountOut(id=account.id, owner_user_id=account.owner_user_id, kind=account.kind,
                      name=account.name, settings=account.settings,
                      has_secret=account.secret is not None, share_level=account.share_level,
                      enabled=account.enabled, created_at=account.created_at)


def rotate_keys(session: Session, principal: Principal | None,
                keyring: Keyring | None = None) -> tuple[int, int]:
    """Re-encrypt every secret with the current key, by an admin or the command line
    (``None``); returns (re-encrypted, total). The audit trail keeps the counts and the
    current key's id, never a key or a secret."""
    require_admin_or_server(principal)
    keyring = keyring or Keyring.from_settings()
    done = total = 0
    for account in session.scalars(select(Account).where(Account.secret.is_not(None))):
        total += 1
        assert account.secret is not None
        if keyring.key_of(account.secret) != keyring.current:
            set_secret(account, reveal_secret(account, keyring), keyring)
            done += 1
    session.flush()
    audit.record_by(session, principal, "keys.rotate",
                    detail={"key_id": keyring.current, "reencrypted": done, "secrets": total})
    return done, total
