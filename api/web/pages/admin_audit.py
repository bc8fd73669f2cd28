"""The admin's audit log: newest first, a page at a time, filtered by who, what and which
client; and the trail's verification (:func:`hub.access.verification.verify`, as
``clienthub audit verify`` and ``GET /api/v1/audit/verify`` run it), told in words."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from sqlalchemy.orm import Session

from api.deps import NowDep, SessionDep
from api.web.deps import AdminViewerDep
from api.web.pages.admin_access import client_register, optional_id
from api.web.render import page
from api.web.routing import web_router
from hub.access import service as access
from hub.access import verification
from hub.paging import MAX_LIMIT
from hub.schemas import Cursor, Word
from hub.staff import service as staff
from hub.staff.web_sessions import Viewer

router = web_router(prefix="/admin/audit")

PAGE_SIZE = 50
#: A select's value: an id, or empty for anyone or any client.
Choice = Annotated[str, Query(max_length=20)]


def _log(request: Request, viewer: Viewer, session: Session, at: datetime, *,
         actor: int | None, action: str | None, client: int | None, before: str | None,
         verdict: verification.Verdict | None = None) -> Response:
    rows = access.list_audit(session, actor_user_id=actor, action=action or None,
                             client_id=client, limit=PAGE_SIZE, before=before)
    filters: dict[str, Any] = {k: v for k, v in (("actor", actor), ("action", action),
                                                 ("client", client)) if v}
    older = (f"/admin/audit?{urlencode({**filters, 'before': rows.next})}"
             if rows.next else None)
    return page(request, "admin_audit.html", viewer, nav="admin", admin_section="audit",
                rows=rows.items, older=older, filters=filters, verdict=verdict,
                newest=f"/admin/audit?{urlencode(filters)}" if before else None,
                users={u.id: u.name for u in staff.list_users(session, limit=MAX_LIMIT).items},
                clients={c.id: c.name for c in client_register(session, viewer, at)})


@router.get("")
def audit_log(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
              actor: Choice = "", action: Annotated[Word, Query()] = "",
              client: Choice = "",
              before: Annotated[Cursor | None, Query()] = None) -> Response:
    """The filter form sends its "anyone" and "any client" as empty values."""
    return _log(request, viewer, session, at, actor=optional_id(actor, "actor"),
                action=action.strip() or None, client=optional_id(client, "client"),
                before=before)


@router.get("/verify")
def verify(request: Request, viewer: AdminViewerDep, session: SessionDep,
           at: NowDep) -> Response:
    """Check every row's seal and the chain, against the anchors kept outside the
    database; the log's first page below the verdict."""
    verdict = verification.verify(session)
    return _log(request, viewer, session, at, actor=None, action=None, client=None,
                before=None, verdict=verdict)
