"""Accounts: created by their owner (or an admin), secrets encrypted before they are stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.accounts.schemas import AccountIn, AccountOut, AccountPatch
from hub.accounts.secrets import reveal_secret, set_secret
from hub.crypto import Keyring
from hub.drive.roots import DRIVE_KINDS, account_changed
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.mail.matching import reshare
from hub.staff.models import User

_SHARE_RANK = {"metadata": 1, "subject": 2, "full": 3}


def _validate(kind: str, settings: dict[str, object]) -> None:
    needed = {"imap": ("host", "username"), "mail_archive": ("path",), "local": ("path",),
              "webdav": ("url", "username")}.get(kind, ())
    missing = [k for k in needed if not settings.get(k)]
    if missing:
        raise InvalidInput(f"a {kind} account needs settings.{missing[0]}",
                           field=f"settings.{missing[0]}")


def create_account(session: Session, principal: Principal, data: AccountIn) -> Account:
    owner = data.owner_user_id or principal.user_id
    if owner != principal.user_id and not principal.is_admin:
        raise PermissionDenied("only an admin may add an account for a colleague")
    if session.get(User, owner) is None:
        raise InvalidInput(f"no user with id {owner}", field="owner_user_id")
    _validate(data.kind, data.settings)
    account = Account(owner_user_id=owner, kind=data.kind, name=data.name,
                      settings=dict(data.settings), share_level=data.share_level)
    session.add(account)
    session.flush()  # the id is the secret's associated data
    set_secret(account, data.secret.get_secret_value() if data.secret else None)
    session.flush()
    return account


def visible_accounts(session: Session, principal: Principal) -> Sequence[Account]:
    stmt = select(Account).order_by(Account.id)
    if not principal.is_admin:
        stmt = stmt.where(Account.owner_user_id == principal.user_id)
    return list(session.scalars(stmt))


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
        _validate(account.kind, patch.settings)
        account.settings = dict(patch.settings)
    if "secret" in fields:
        set_secret(account, patch.secret.get_secret_value() if patch.secret else None)
    if "share_level" in fields and patch.share_level:
        # The owner decides how much of their mailbox colleagues see; an admin may lower
        # it too, but only the owner may raise it again.
        raising = _SHARE_RANK[patch.share_level] > _SHARE_RANK[account.share_level]
        if raising and principal.user_id != account.owner_user_id:
            raise PermissionDenied("only the mailbox owner may share more of it")
        account.share_level = patch.share_level
    if "enabled" in fields and patch.enabled is not None:
        account.enabled = patch.enabled
    session.flush()
    if account.kind in DRIVE_KINDS and fields & {"settings", "share_level"}:
        account_changed(session, account)
    elif "share_level" in fields and patch.share_level:
        reshare(session, account)
    return account


def delete_account(session: Session, account: Account) -> None:
    session.delete(account)
    session.flush()


def describe(account: Account) -> AccountOut:
    return AccountOut(id=account.id, owner_user_id=account.owner_user_id, kind=account.kind,
                      name=account.name, settings=account.settings,
                      has_secret=account.secret is not None, share_level=account.share_level,
                      enabled=account.enabled, created_at=account.created_at)


def rotate_keys(session: Session, keyring: Keyring | None = None) -> tuple[int, int]:
    """Re-encrypt every secret with the current key; returns (re-encrypted, total)."""
    keyring = keyring or Keyring.from_settings()
    done = total = 0
    for account in session.scalars(select(Account).where(Account.secret.is_not(None))):
        total += 1
        assert account.secret is not None
        if keyring.key_of(account.secret) != keyring.current:
            set_secret(account, reveal_secret(account, keyring), keyring)
            done += 1
    session.flush()
    return done, total
