"""A user's own choices: the language of the web view."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.errors import InvalidInput
from hub.staff.models import User

#: The languages the web view speaks; the first is the default.
LOCALES = ("fi", "en")


def set_locale(session: Session, principal: Principal, locale: str) -> None:
    """The principal's own language. Not on the audit trail: it changes what they see,
    never what anyone may see."""
    if locale not in LOCALES:
        raise InvalidInput(f"the web view speaks {' and '.join(LOCALES)}, not {locale!r}",
                           field="locale")
    user = session.get(User, principal.user_id)
    if user is None:
        raise InvalidInput(f"no user with id {principal.user_id}", field="user_id")
    user.locale = locale
    session.flush()
