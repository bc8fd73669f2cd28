"""One client's drift findings for the people who work on the client, not only admins.

The findings name the client's folders, so they are shown as browsing the files is: the
client visible to the reader, and each drive folder at the ``subject`` level or higher on
that drive (:func:`hub.drive.service.files_level`); a drive folder the reader may not
browse is left out. The read is on the audit trail, as an admin's read of drift is.
Fixing drift stays with admins (:mod:`hub.folders.service`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.levels import Level
from hub.access.policy import Principal
from hub.accounts.models import Account
from hub.clients.service import get_visible_client
from hub.drive.service import files_level
from hub.folders.check import ClientDrift, check


def client_findings(session: Session, principal: Principal, client_id: int, at: datetime,
                    today: date) -> list[ClientDrift]:
    """How each drive folder of the client the reader may browse differs from its
    template, from the latest drive sync; NotFound for a client the reader may not see."""
    _, grant = get_visible_client(session, principal, client_id, at)
    shown: list[ClientDrift] = []
    for found in check(session, today, client_id=client_id):
        account = session.get(Account, found.account_id)
        if account is not None and files_level(principal, grant, account) >= Level.SUBJECT:
            shown.append(found)
    audit.record(session, actor_user_id=principal.user_id, action="folders.drift_read",
                 client_id=client_id, grant=grant.reason, own_transaction=True,
                 detail={"roots": len(shown),
                         "findings": sum(len(d.findings) for d in shown)})
    return shown


__all__ = ["client_findings"]
