"""Client folder templates, drift and its fixes (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from api.deps import AdminDep, NowDep, SessionDep
from connectors import registry
from hub.errors import InvalidInput
from hub.flows import folders as jobs
from hub.folders import service, templates
from hub.folders.schemas import (
    ActionOut,
    ActionStatus,
    ApplyIn,
    ApplyOut,
    ClientDriftOut,
    ClientTreeIn,
    FolderSettingsIn,
    FolderSettingsOut,
    PlanIn,
    PlanOut,
    TemplateIn,
    TemplateOut,
)
from hub.schemas import ID_MAX, Cursor, IdParam, ListPage, Word
from hub.timeutil import firm_today

router = APIRouter(prefix="/folders", tags=["admin: client folders"])


def _factory(request: Request) -> sessionmaker[Session]:
    # Applying commits after every drive step, so it needs sessions of its own.
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


FactoryDep = Annotated[sessionmaker[Session], Depends(_factory)]


def _group_id(scope: Word) -> int | None:
    if scope == templates.DEFAULT_SCOPE:
        return None
    # ASCII digits only (str.isdigit takes any script's) and an id a row can have.
    if not (scope.isascii() and scope.isdigit()) or not 1 <= int(scope) <= ID_MAX:
        raise InvalidInput(f"{scope!r} is neither 'default' nor a client group id",
                           field="scope")
    return int(scope)


@router.get("/templates", response_model=ListPage[TemplateOut])
def list_templates(_: AdminDep, session: SessionDep) -> ListPage[TemplateOut]:
    """The default template, then each client group's own."""
    return ListPage(items=templates.list_templates(session))


@router.get("/templates/{scope}", response_model=TemplateOut)
def get_template(scope: Word, _: AdminDep, session: SessionDep) -> TemplateOut:
    """``default``, or a client group's id: its own template or the default it follows."""
    group_id = _group_id(scope)
    if group_id is None:
        return templates.describe_default(session)
    return templates.describe_group(session, group_id)


@router.put("/templates/{scope}", response_model=TemplateOut)
def put_template(scope: Word, body: TemplateIn, p: AdminDep, session: SessionDep) -> TemplateOut:
    group_id = _group_id(scope)
    if group_id is None:
        return templates.set_default_template(session, p, body)
    return templates.set_group_template(session, p, group_id, body)


@router.delete("/templates/{group_id}", status_code=204)
def delete_template(group_id: IdParam, p: AdminDep, session: SessionDep) -> None:
    """The group's clients follow the default template again."""
    templates.delete_group_template(session, p, group_id)


@router.get("/settings", response_model=FolderSettingsOut)
def get_settings(_: AdminDep, session: SessionDep) -> FolderSettingsOut:
    return FolderSettingsOut.model_validate(templates.folder_settings(session))


@router.put("/settings", response_model=FolderSettingsOut)
def put_settings(body: FolderSettingsIn, p: AdminDep, session: SessionDep) -> FolderSettingsOut:
    """``auto_create``: create missing folders without asking; ``year_lead_days``: how
    early next fiscal year's folders are required."""
    row = templates.update_folder_settings(session, p, body)
    return FolderSettingsOut.model_validate(row)


@router.get("/drift", response_model=ListPage[ClientDriftOut])
def get_drift(p: AdminDep, session: SessionDep, now: NowDep,
              client_id: Annotated[IdParam | None, Query()] = None,
              account_id: Annotated[IdParam | None, Query()] = None) -> ListPage[ClientDriftOut]:
    """How each client folder differs from its template, from the latest drive sync."""
    found = service.drift(session, p, firm_today(now), account_id=account_id, client_id=client_id)
    return ListPage(items=[service.describe_drift(d) for d in found])


@router.post("/plan", response_model=PlanOut)
def plan(body: PlanIn, p: AdminDep, session: SessionDep, now: NowDep) -> PlanOut:
    """Store the fixes for the drift found now; approvals of fixes still wanted are kept."""
    report = service.plan(session, p, firm_today(now), account_id=body.account_id,
                          client_id=body.client_id)
    return PlanOut(year=report.year, created=len(report.created), kept=len(report.kept),
                   stale=report.stale, by_hand=report.by_hand,
                   actions=[ActionOut.model_validate(a) for a in report.actions])


@router.get("/actions", response_model=ListPage[ActionOut])
def list_actions(p: AdminDep, session: SessionDep,
                 status: Annotated[ActionStatus | None, Query()] = None,
                 client_id: Annotated[IdParam | None, Query()] = None,
                 account_id: Annotated[IdParam | None, Query()] = None,
                 after: Annotated[Cursor | None, Query()] = None,
                 limit: Annotated[int | None, Query(ge=1, le=200)] = None) -> ListPage[ActionOut]:
    """In the order they run; ``after`` is the ``next`` of the previous page."""
    page = service.list_actions(session, p, status=status, client_id=client_id,
                                account_id=account_id, after=after, limit=limit)
    return ListPage(items=[ActionOut.model_validate(a) for a in page.items], next=page.next)


@router.post("/actions/{action_id}/approve", response_model=ActionOut)
def approve(action_id: IdParam, p: AdminDep, session: SessionDep) -> ActionOut:
    return ActionOut.model_validate(service.approve(session, p, action_id))


@router.post("/apply", response_model=ApplyOut)
def apply(body: ApplyIn, p: AdminDep, factory: FactoryDep) -> ApplyOut:
    """Carry out approved actions on the drives, one committed step at a time."""
    report = jobs.apply_approved(factory, registry, p, account_id=body.account_id,
                                 action_ids=body.action_ids)
    with factory() as session:
        rows = service.actions_by_ids(session, p, report.applied + report.failed
                                      + report.skipped)
    return ApplyOut(applied=len(report.applied), failed=len(report.failed),
                    skipped=len(report.skipped),
                    actions=[ActionOut.model_validate(a) for a in rows])


@router.post("/actions/{action_id}/undo", response_model=ActionOut)
def undo(action_id: IdParam, p: AdminDep, factory: FactoryDep) -> ActionOut:
    """Move a renamed or moved entry back; remove a created folder if it is still empty."""
    return ActionOut.model_validate(jobs.undo(factory, registry, p, action_id))


@router.post("/trees", response_model=list[ActionOut], status_code=201)
def create_tree(body: ClientTreeIn, p: AdminDep, factory: FactoryDep,
                now: NowDep) -> list[ActionOut]:
    """Create a client's folders from its template on a drive, its root too if missing."""
    actions, _ = jobs.create_client_tree(factory, registry, p, body.client_id,
                                          body.account_id, firm_today(now))
    return [ActionOut.model_validate(a) for a in actions]
