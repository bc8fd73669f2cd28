"""Running a sync for an account, as the tasks do: :mod:`hub.flows.sync` with the
connectors of :mod:`connectors.registry`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from connectors import registry
from hub.accounts.models import Account
from hub.accounts.service import SYNCABLE_KINDS
from hub.flows import sync as flows
from hub.flows.sync import MAIL_KINDS, sinks
from hub.sync.models import SyncRun
from hub.sync.protocol import Connector


def connector_for(account: Account, secret: str | None) -> Connector:
    """The account's connector, as the firm's policy allows its settings now."""
    return flows.connector_for(registry, account, secret)


def sync_account(factory: sessionmaker[Session], account_id: int,
                 progress: Callable[[str, int], None] | None = None) -> list[SyncRun]:
    """Fetch every stream of the account, then file the mail the fetch brought (and any
    an earlier run left waiting), all under the account's lease."""
    return flows.sync_account(factory, registry, account_id, progress)


__all__ = ["MAIL_KINDS", "SYNCABLE_KINDS", "connector_for", "sinks", "sync_account"]
