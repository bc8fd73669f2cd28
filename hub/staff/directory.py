"""Finding a colleague by a few letters of their name or address: the @mention
suggestions of a note."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.errors import PermissionDenied
from hub.staff.models import User

#: Suggestions shown at once; more letters narrow them.
SUGGESTIONS = 8


@dataclass(frozen=True, slots=True)
class Colleague:
    id: int
    name: str
    email: str


def colleagues_matching(session: Session, principal: Principal, text: str,
                        limit: int = SUGGESTIONS) -> list[Colleague]:
    """Active colleagues whose name or address contains ``text`` in any case, those whose
    name or address starts with it first, then by name. A firm has tens of people, not
    thousands: they are filtered here, where Ä and ö fold as they should."""
    if not principal.is_active:
        raise PermissionDenied("your account is deactivated; ask an admin of your firm")
    needle = text.strip().lstrip("@").casefold()
    found = []
    for user_id, name, email in session.execute(
            select(User.id, User.name, User.email).where(User.is_active.is_(True))):
        folded_name, folded_email = name.casefold(), email.casefold()
        if needle in folded_name or needle in folded_email:
            starts = any(word.startswith(needle) for word in folded_name.split()) \
                or folded_email.startswith(needle)
            found.append((not starts, folded_name, Colleague(user_id, name, email)))
    found.sort(key=lambda item: (item[0], item[1], item[2].id))
    return [colleague for _, _, colleague in found[:limit]]


__all__ = ["Colleague", "colleagues_matching"]
