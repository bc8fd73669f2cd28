"""A batch's transaction, the fast way first and the careful way after a failure.

Writing a batch set-based, in one transaction without a savepoint per item, is what makes
a sync fast; but then one bad item fails the whole batch. So a failed fast attempt is
rolled back and the batch is done again in a fresh transaction, carefully - item by item,
each under its own savepoint - so that the bad item is set aside and the rest still land.
The careful attempt is the reference the fast one must equal; if it fails too, the
failure is the caller's. A lost lease is never retried: the account belongs to another
process now. The fetch runner and mail filing both write their batches through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from hub.sync.leases import LeaseLost

T = TypeVar("T")


def fast_then_careful(factory: sessionmaker[Session], attempt: Callable[[Session, bool], T],
                      *, undo: Callable[[Session], None] | None = None,
                      falling_back: Callable[[Exception], None] | None = None) -> T:
    """``attempt(session, careful)`` with ``careful`` False, committed; if it raises,
    rolled back and run once more with ``careful`` True. ``undo`` runs before each
    rollback (to forget what the attempt noted outside the database), ``falling_back``
    before the careful attempt, with what failed the fast one."""
    for careful in (False, True):
        with factory() as session:
            try:
                result = attempt(session, careful)
                session.commit()
            except LeaseLost:
                if undo is not None:
                    undo(session)
                session.rollback()
                raise
            except Exception as exc:
                if undo is not None:
                    undo(session)
                session.rollback()
                if careful:
                    raise
                if falling_back is not None:
                    falling_back(exc)
                continue
        return result
    raise AssertionError("unreachable: the careful attempt returns or raises")
