"""Why a principal sees a client: a :class:`~hub.access.policy.Grant`'s reason
(``own:<role>``, ``cover:<user id>``, ``rule:<id>``) spelt out with the names a person
knows, so that a page can say which path gave access and at which level."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hub.access.models import AccessRule
from hub.access.policy import Grant
from hub.clients.models import ClientGroup, Role, SpecialGroup
from hub.staff.models import User


@dataclass(frozen=True, slots=True)
class GrantReason:
    """``path`` is ``own``, ``cover`` or ``rule``; the other fields name what it went
    through: the role (own), the absent colleague (cover), or the rule's subject
    (``staff``/``admin``) and the client group and special group it is narrowed to."""

    path: str
    level: str
    role_fi: str = ""
    role_en: str = ""
    absent_name: str = ""
    rule_id: int | None = None
    rule_subject: str = ""
    group_name: str = ""
    special_group_name: str = ""

    def role_name(self, locale: str) -> str:
        return self.role_fi if locale == "fi" else self.role_en


def explain(session: Session, grant: Grant) -> GrantReason:
    path, _, ref = grant.reason.partition(":")
    level = grant.level.label
    if path == "own":
        role = session.get(Role, ref)
        return GrantReason("own", level, role_fi=role.name_fi if role else ref,
                           role_en=role.name_en if role else ref)
    if path == "cover":
        absent = session.get(User, int(ref)) if ref.isdigit() else None
        return GrantReason("cover", level, absent_name=absent.name if absent else "")
    rule = session.get(AccessRule, int(ref)) if ref.isdigit() else None
    if rule is None:  # changed since the grant was read; say what can still be said
        return GrantReason("rule", level)
    group = session.get(ClientGroup, rule.client_group_id) if rule.client_group_id else None
    special = (session.get(SpecialGroup, rule.special_group_id)
               if rule.special_group_id else None)
    return GrantReason("rule", level, rule_id=rule.id, rule_subject=rule.subject,
                       group_name=group.name if group else "",
                       special_group_name=special.name if special else "")


__all__ = ["GrantReason", "explain"]
