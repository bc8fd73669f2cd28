"""An account's secret sealed and opened: AES-GCM envelopes bound to the account's id.

Apart from the account service so that a sync, which only opens the secret, does not load
what creating and listing accounts needs.
"""

from __future__ import annotations

from hub.accounts.models import Account
from hub.crypto import Keyring


def _context(account_id: int) -> str:
    return f"account:{account_id}"


def set_secret(account: Account, secret: str | None, keyring: Keyring | None = None) -> None:
    if not secret:
        account.secret = None
        return
    account.secret = (keyring or Keyring.from_settings()).encrypt(secret, _context(account.id))


def reveal_secret(account: Account, keyring: Keyring | None = None) -> str | None:
    """The plaintext, for building a connector; never log or return it."""
    if account.secret is None:
        return None
    return (keyring or Keyring.from_settings()).decrypt(account.secret, _context(account.id))
