"""Covers, access rules and the audit trail (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import AdminDep, NowDep, SessionDep
from hub.access import service, verification
from hub.access.anchors import parse_head
from hub.access.schemas import (
    AccessRuleIn,
    AccessRuleOut,
    AccessRulePatch,
    AuditOut,
    CoverIn,
    CoverOut,
    CoverPatch,
)
from hub.schemas import Cursor, IdParam, ListPage, Word

router = APIRouter(tags=["admin: access"])


@router.get("/covers", response_model=ListPage[CoverOut])
def list_covers(
    _: AdminDep,
    session: SessionDep,
    at: NowDep,
    user_id: Annotated[
        IdParam | None, Query(description="Covers where this user is absent or covers")
    ] = None,
    running: Annotated[bool, Query(description="Only covers running now")] = False,
) -> ListPage[CoverOut]:
    rows = service.list_covers(session, user_id=user_id, running_at=at if running else None)
    return ListPage(items=[service.describe_cover(c, at) for c in rows])


@router.post("/covers", response_model=CoverOut, status_code=201)
def create_cover(body: CoverIn, p: AdminDep, session: SessionDep, at: NowDep) -> CoverOut:
    """B covers A from valid_from (inclusive) to valid_until (exclusive); dates and naive
    times are in the firm's time zone. It starts and ends by itself."""
    return service.describe_cover(service.create_cover(session, p, body, at), at)


@router.get("/covers/{cover_id}", response_model=CoverOut)
def get_cover(cover_id: IdParam, _: AdminDep, session: SessionDep, at: NowDep) -> CoverOut:
    return service.describe_cover(service.get_cover(session, cover_id), at)


@router.patch("/covers/{cover_id}", response_model=CoverOut)
def update_cover(
    cover_id: IdParam, body: CoverPatch, p: AdminDep, session: SessionDep, at: NowDep
) -> CoverOut:
    """End a cover early by setting valid_until (to now, say), extend it, or re-narrow it."""
    cover = service.update_cover(session, p, service.get_cover(session, cover_id), body, at)
    return service.describe_cover(cover, at)


@router.delete("/covers/{cover_id}", status_code=204)
def delete_cover(cover_id: IdParam, p: AdminDep, session: SessionDep, at: NowDep) -> None:
    service.delete_cover(session, p, service.get_cover(session, cover_id), at)


@router.get("/access-rules", response_model=ListPage[AccessRuleOut])
def list_rules(_: AdminDep, session: SessionDep) -> ListPage[AccessRuleOut]:
    return ListPage(items=[AccessRuleOut.model_validate(r) for r in service.list_rules(session)])


@router.post("/access-rules", response_model=AccessRuleOut, status_code=201)
def create_rule(body: AccessRuleIn, p: AdminDep, session: SessionDep) -> AccessRuleOut:
    return AccessRuleOut.model_validate(service.create_rule(session, p, body))


@router.get("/access-rules/{rule_id}", response_model=AccessRuleOut)
def get_rule(rule_id: IdParam, _: AdminDep, session: SessionDep) -> AccessRuleOut:
    return AccessRuleOut.model_validate(service.get_rule(session, rule_id))


@router.patch("/access-rules/{rule_id}", response_model=AccessRuleOut)
def update_rule(
    rule_id: IdParam, body: AccessRulePatch, p: AdminDep, session: SessionDep
) -> AccessRuleOut:
    rule = service.update_rule(session, p, service.get_rule(session, rule_id), body)
    return AccessRuleOut.model_validate(rule)


@router.delete("/access-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: IdParam, p: AdminDep, session: SessionDep) -> None:
    service.delete_rule(session, p, service.get_rule(session, rule_id))


@router.get("/audit", response_model=ListPage[AuditOut])
def list_audit(
    _: AdminDep,
    session: SessionDep,
    client_id: IdParam | None = None,
    actor_user_id: IdParam | None = None,
    action: Word | None = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    before: Cursor | None = None,
) -> ListPage[AuditOut]:
    """Newest first."""
    page = service.list_audit(
        session,
        client_id=client_id,
        actor_user_id=actor_user_id,
        action=action,
        limit=limit,
        before=before,
    )
    return ListPage(items=[AuditOut.model_validate(r) for r in page.items], next=page.next)


class VerifyOut(BaseModel):
    rows: int
    intact: bool
    breaks: list[dict[str, object]]
    #: Rows from before the chain was keyed; rows per key id that is not configured.
    unkeyed: int
    unchecked: dict[str, int]
    #: Anchors in the anchor file (and the kept head, if given) the trail was checked against.
    anchors: int
    warnings: list[str]


@router.get("/audit/verify", response_model=VerifyOut)
def verify_audit(
    _: AdminDep,
    session: SessionDep,
    head: Annotated[Word | None, Query(description="A head kept from 'clienthub audit head' "
                                      "(ID:HASH), to check the trail still has it")] = None,
) -> VerifyOut:
    kept = [parse_head(head)] if head is not None else []
    verdict = verification.verify(session, heads=kept)
    return VerifyOut(
        rows=verdict.rows,
        intact=verdict.intact,
        breaks=[{"entry_id": b.entry_id, "problem": b.problem} for b in verdict.breaks],
        unkeyed=verdict.unkeyed,
        unchecked=verdict.unchecked,
        anchors=verdict.anchors,
        warnings=verdict.warnings,
    )
