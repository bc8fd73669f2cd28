"""The admin's pages: for now the staff list; access rules, covers, the responsibilities
matrix, groups, folders, sync status and the audit log join it."""

from __future__ import annotations

from fastapi import Request, Response

from api.deps import SessionDep
from api.web.deps import AdminViewerDep
from api.web.render import page
from api.web.routing import web_router
from hub.staff import service as staff

router = web_router(prefix="/admin")


@router.get("")
def admin_home(request: Request, viewer: AdminViewerDep, session: SessionDep) -> Response:
    users = staff.list_users(session, limit=200).items
    return page(request, "admin.html", viewer, nav="admin", users=users)
