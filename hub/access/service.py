"""Covers, access rules and reading the audit trail: what admins configure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.access import audit
from hub.access.models import AccessRule, AuditEntry, Cover
from hub.access.policy import Principal, covers_reaching, require_admin_or_server
from hub.access.schemas import (
    AccessRuleIn,
    AccessRuleOut,
    AccessRulePatch,
    CoverIn,
    CoverOut,
    CoverPatch,
)
from hub.clients.models import Client, ClientGroup, Role, SpecialGroup
from hub.errors import InvalidInput, NotFound
from hub.paging import Page, clamp_limit, decode_cursor, page_of
from hub.staff.models import User
from hub.timeutil import to_instant


def _clients(session: Session, ids: list[int] | None) -> list[Client]:
    if not ids:
        return []
    found = list(session.scalars(select(Client).where(Client.id.in_(ids))))
    missing = set(ids) - {c.id for c in found}
    if missing:
        raise InvalidInput(f"no client with id {sorted(missing)[0]}", field="client_ids")
    return found


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None:
        raise InvalidInput("a cover needs both valid_from and valid_until", field="valid_until")
    if end <= start:
        raise InvalidInput(
            "valid_until must be after valid_from (the end is exclusive)", field="valid_until"
        )
    return start, end


def create_cover(session: Session, principal: Principal | None, data: CoverIn,
                 now: datetime) -> Cover:
    """A cover made by ``principal`` (``None``: the command line), on the audit trail as
    it stands at ``now``."""
    require_admin_or_server(principal)
    for field, uid in (
        ("absent_user_id", data.absent_user_id),
        ("covering_user_id", data.covering_user_id),
    ):
        user = session.get(User, uid)
        if user is None:
            raise InvalidInput(f"no user with id {uid}", field=field)
        if field == "covering_user_id" and not user.is_active:
            raise InvalidInput(f"{user.email} is deactivated and cannot cover", field=field)
    if data.absent_user_id == data.covering_user_id:
        raise InvalidInput("a user cannot cover for themselves", field="covering_user_id")
    start, end = _period(to_instant(data.valid_from), to_instant(data.valid_until))
    cover = Cover(
        absent_user_id=data.absent_user_id,
        covering_user_id=data.covering_user_id,
        valid_from=start,
        valid_until=end,
        note=data.note,
        created_by=principal.user_id if principal is not None else None,
        clients=_clients(session, data.client_ids),
        narrowed=bool(data.client_ids),
    )
    session.add(cover)
    session.flush()
    audit.record_by(session, principal, "cover.create",
                    detail=describe_cover(cover, now).model_dump(mode="json"))
    return cover


def get_cover(session: Session, cover_id: int) -> Cover:
    cover = session.get(Cover, cover_id)
    if cover is None:
        raise NotFound(f"no cover with id {cover_id}; list covers with GET /api/v1/covers")
    return cover


def update_cover(session: Session, principal: Principal | None, cover: Cover,
                 patch: CoverPatch, now: datetime) -> Cover:
    """Move the period (end a cover early by setting valid_until to now) or re-narrow it."""
    require_admin_or_server(principal)
    fields = patch.model_fields_set
    start = to_instant(patch.valid_from) if "valid_from" in fields else cover.valid_from
    end = to_instant(patch.valid_until) if "valid_until" in fields else cover.valid_until
    cover.valid_from, cover.valid_until = _period(start, end)
    if "client_ids" in fields:
        cover.clients = _clients(session, patch.client_ids)
        cover.narrowed = bool(patch.client_ids)
    if "note" in fields and patch.note is not None:
        cover.note = patch.note
    session.flush()
    audit.record_by(session, principal, "cover.update",
                    detail=describe_cover(cover, now).model_dump(mode="json"))
    return cover


def delete_cover(session: Session, principal: Principal | None, cover: Cover,
                 now: datetime) -> None:
    require_admin_or_server(principal)
    detail = describe_cover(cover, now).model_dump(mode="json")
    session.delete(cover)
    session.flush()
    audit.record_by(session, principal, "cover.delete", detail=detail)


def list_covers(
    session: Session, *, user_id: int | None = None, running_at: datetime | None = None
) -> Sequence[Cover]:
    stmt = select(Cover).options(selectinload(Cover.clients)).order_by(Cover.valid_from, Cover.id)
    if user_id is not None:
        stmt = stmt.where((Cover.absent_user_id == user_id) | (Cover.covering_user_id == user_id))
    if running_at is not None:
        stmt = stmt.where(Cover.valid_from <= running_at, Cover.valid_until > running_at)
    return list(session.scalars(stmt))


def describe_cover(cover: Cover, now: datetime) -> CoverOut:
    state = (
        "scheduled" if now < cover.valid_from else "running" if now < cover.valid_until else "ended"
    )
    return CoverOut(
        id=cover.id,
        absent_user_id=cover.absent_user_id,
        covering_user_id=cover.covering_user_id,
        valid_from=cover.valid_from,
        valid_until=cover.valid_until,
        client_ids=sorted(c.id for c in cover.clients) if cover.narrowed else None,
        note=cover.note,
        state=state,
    )


@dataclass(frozen=True, slots=True)
class CoveredClient:
    """A client the principal sees now because they cover a colleague: whose, until when."""

    client: Client
    absent_user_id: int
    absent_name: str
    valid_until: datetime


def covered_clients(session: Session, principal: Principal, at: datetime) -> list[CoveredClient]:
    """The clients the principal's running covers show them, soonest-ending cover first,
    then by customer number; the same client once per cover that reaches it."""
    reaches = covers_reaching(session, principal, at)
    if not reaches:
        return []
    clients = {c.id: c for c in session.scalars(
        select(Client).where(Client.id.in_({r.client_id for r in reaches})))}
    names = {uid: name for uid, name in session.execute(
        select(User.id, User.name).where(User.id.in_({r.absent_user_id for r in reaches})))}
    found = [CoveredClient(clients[r.client_id], r.absent_user_id, names[r.absent_user_id],
                           r.valid_until) for r in reaches]
    return sorted(found, key=lambda c: (c.valid_until, c.client.customer_number))


def _check_rule_refs(
    session: Session, role: str | None, group_id: int | None, special_id: int | None
) -> None:
    if role is not None and session.get(Role, role) is None:
        raise InvalidInput(f"no role {role!r}; list roles with GET /api/v1/roles", field="role")
    if group_id is not None and session.get(ClientGroup, group_id) is None:
        raise InvalidInput(f"no client group with id {group_id}", field="client_group_id")
    if special_id is not None and session.get(SpecialGroup, special_id) is None:
        raise InvalidInput(f"no special group with id {special_id}", field="special_group_id")


def create_rule(session: Session, principal: Principal | None, data: AccessRuleIn) -> AccessRule:
    require_admin_or_server(principal)
    if (data.subject == "role") != (data.role is not None):
        raise InvalidInput("give a role exactly when the subject is 'role'", field="role")
    _check_rule_refs(session, data.role, data.client_group_id, data.special_group_id)
    rule = AccessRule(**data.model_dump())
    session.add(rule)
    session.flush()
    audit.record_by(session, principal, "access_rule.create",
                    detail=AccessRuleOut.model_validate(rule).model_dump())
    return rule


def get_rule(session: Session, rule_id: int) -> AccessRule:
    rule = session.get(AccessRule, rule_id)
    if rule is None:
        raise NotFound(f"no access rule with id {rule_id}")
    return rule


def update_rule(session: Session, principal: Principal | None, rule: AccessRule,
                patch: AccessRulePatch) -> AccessRule:
    require_admin_or_server(principal)
    fields = patch.model_fields_set
    _check_rule_refs(session, None, patch.client_group_id, patch.special_group_id)
    if "level" in fields and patch.level is not None:
        rule.level = patch.level
    if "client_group_id" in fields:
        rule.client_group_id = patch.client_group_id
    if "special_group_id" in fields:
        rule.special_group_id = patch.special_group_id
    session.flush()
    audit.record_by(session, principal, "access_rule.update",
                    detail=AccessRuleOut.model_validate(rule).model_dump())
    return rule


def delete_rule(session: Session, principal: Principal | None, rule: AccessRule) -> None:
    require_admin_or_server(principal)
    detail = AccessRuleOut.model_validate(rule).model_dump()
    session.delete(rule)
    session.flush()
    audit.record_by(session, principal, "access_rule.delete", detail=detail)


def list_rules(session: Session) -> Sequence[AccessRule]:
    return list(session.scalars(select(AccessRule).order_by(AccessRule.id)))


def list_audit(
    session: Session,
    *,
    client_id: int | None = None,
    actor_user_id: int | None = None,
    action: str | None = None,
    limit: int | None = None,
    before: str | None = None,
) -> Page[AuditEntry]:
    """Newest first."""
    size = clamp_limit(limit)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(size + 1)
    if client_id is not None:
        stmt = stmt.where(AuditEntry.client_id == client_id)
    if actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == actor_user_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if before:
        stmt = stmt.where(AuditEntry.id < decode_cursor(before, {"id": int})["id"])
    return page_of(list(session.scalars(stmt)), size, lambda r: {"id": r.id})
