"""The admin's folder screen: the folder template of each client group, the drift of the
client folders from it, and the queue of proposed fixes to approve or reject and carry
out. The same services as ``/api/v1/folders``: approving is
:func:`hub.folders.service.approve`, carrying out :func:`hub.flows.folders.apply_approved`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session, sessionmaker

from api.deps import NowDep, SessionDep
from api.web.deps import AdminViewerDep
from api.web.pages.admin_access import client_register, valid
from api.web.render import page
from api.web.routing import web_router
from connectors import registry
from hub.clients import groups
from hub.flows import folders as jobs
from hub.folders import service, templates
from hub.folders.schemas import TemplateIn
from hub.schemas import IdParam
from hub.timeutil import firm_today

router = web_router(prefix="/admin/folders")

#: The queue: fixes waiting for a decision, approved ones waiting to run, failed ones.
QUEUE_STATUSES = ("proposed", "approved", "failed")
#: Fixes shown per status; the API pages through the rest.
QUEUE_SIZE = 200
TemplateText = Annotated[str, Form(min_length=1, max_length=20_000)]


def _factory(request: Request) -> sessionmaker[Session]:
    # Carrying out fixes commits after every drive step, so it needs sessions of its own.
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


FactoryDep = Annotated[sessionmaker[Session], Depends(_factory)]


def _back(anchor: str = "") -> Response:
    return RedirectResponse(f"/admin/folders{anchor}", status_code=303)


@router.get("")
def folders(request: Request, viewer: AdminViewerDep, session: SessionDep,
            now: NowDep) -> Response:
    p = viewer.principal
    drift = [d for d in service.drift(session, p, firm_today(now)) if d.findings]
    queue = {status: service.list_actions(session, p, status=status, limit=QUEUE_SIZE).items
             for status in QUEUE_STATUSES}
    client_groups = groups.list_client_groups(session)
    own = templates.list_templates(session)
    with_own = {t.client_group_id for t in own}
    client_names = {c.id: c.name for c in client_register(session, viewer, now)}
    return page(request, "admin_folders.html", viewer, nav="admin", admin_section="folders",
                templates=own, following_default=[g for g in client_groups
                                                  if g.id not in with_own],
                client_groups=client_groups, drift=drift, queue=queue,
                client_names=client_names)


@router.post("/templates/default")
def save_default_template(viewer: AdminViewerDep, session: SessionDep,
                          text: TemplateText) -> Response:
    templates.set_default_template(session, viewer.principal, valid(TemplateIn, text=text))
    return _back("#templates-heading")


@router.post("/templates/group")
def save_group_template(viewer: AdminViewerDep, session: SessionDep,
                        client_group: Annotated[IdParam, Form()],
                        text: TemplateText) -> Response:
    templates.set_group_template(session, viewer.principal, client_group,
                                 valid(TemplateIn, text=text))
    return _back("#templates-heading")


@router.post("/templates/{group_id}/delete")
def follow_default(group_id: IdParam, viewer: AdminViewerDep,
                   session: SessionDep) -> Response:
    templates.delete_group_template(session, viewer.principal, group_id)
    return _back("#templates-heading")


@router.post("/check")
def check_and_plan(viewer: AdminViewerDep, session: SessionDep, now: NowDep) -> Response:
    """Check every client folder now and store the fixes for what is found."""
    service.plan(session, viewer.principal, firm_today(now))
    return _back("#queue-heading")


@router.post("/actions/{action_id}/approve")
def approve(action_id: IdParam, viewer: AdminViewerDep, session: SessionDep) -> Response:
    service.approve(session, viewer.principal, action_id)
    return _back("#queue-heading")


@router.post("/actions/{action_id}/reject")
def reject(action_id: IdParam, viewer: AdminViewerDep, session: SessionDep) -> Response:
    service.reject(session, viewer.principal, action_id)
    return _back("#queue-heading")


@router.post("/apply")
def apply(viewer: AdminViewerDep, factory: FactoryDep) -> Response:
    """Carry out every approved fix on the drives, then read the drives again."""
    jobs.apply_approved(factory, registry, viewer.principal)
    return _back("#queue-heading")
