"""An account's changes as they reach what it brought in: past entries and drive roots."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.accounts import service
from hub.accounts.models import Account
from hub.accounts.schemas import AccountPatch
from hub.drive import roots
from hub.mail import matching


def update_account(session: Session, principal: Principal, account: Account,
                   patch: AccountPatch) -> Account:
    """Change the account; a drive's entries take its new share level and its folders are
    matched to clients again (the clients folder may have moved), a mailbox's past
    entries take its new share level."""
    service.update_account(session, principal, account, patch)
    fields = patch.model_fields_set
    if account.kind in roots.DRIVE_KINDS and fields & {"settings", "share_level"}:
        roots.account_changed(session, account)
    elif "share_level" in fields and patch.share_level:
        matching.reshare(session, account)
    return account


__all__ = ["update_account"]
