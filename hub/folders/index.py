"""Reading the drive index for folder checks: the mapped client roots and what lies in them.

The index (``hub.drive``) keeps paths relative to the drive root, folders ending in ``/``;
drift works on paths relative to one client root in the same form. Only live items count:
a folder deleted at the source is drift to be fixed, not a folder that is there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.drive.index import paths
from hub.drive.models import ClientRoot


@dataclass(frozen=True, slots=True)
class MappedRoot:
    account_id: int
    client_id: int
    #: Relative to the drive root, without the trailing ``/``.
    path: str


def mapped_roots(session: Session, *, account_id: int | None = None,
                 client_id: int | None = None) -> list[MappedRoot]:
    stmt = select(ClientRoot.account_id, ClientRoot.client_id, ClientRoot.path)
    if account_id is not None:
        stmt = stmt.where(ClientRoot.account_id == account_id)
    if client_id is not None:
        stmt = stmt.where(ClientRoot.client_id == client_id)
    rows = session.execute(stmt.order_by(ClientRoot.account_id, ClientRoot.path))
    return [MappedRoot(a, c, p.rstrip("/")) for a, c, p in rows if c is not None]


def entries_under(session: Session, account_id: int, root: str) -> Sequence[str]:
    """Live entries below ``root``, relative to it, folders ending in ``/``."""
    prefix = root.rstrip("/") + "/"
    return [path[len(prefix):] for path in paths(session, account_id, prefix)
            if len(path) > len(prefix)]


__all__ = ["MappedRoot", "entries_under", "mapped_roots"]
