"""The admin's sync screen: per account the last run of every stream, what is wrong in
words and what to do next, and the lease. The same reading as ``clienthub status`` and
``GET /api/v1/sync/status`` (:func:`hub.flows.sync.sync_status`)."""

from __future__ import annotations

from fastapi import Request, Response

from api.deps import SessionDep
from api.web.deps import AdminViewerDep
from api.web.render import page
from api.web.routing import web_router
from hub.flows.sync import sync_status
from hub.sync import status as health

router = web_router(prefix="/admin")


@router.get("/sync")
def sync(request: Request, viewer: AdminViewerDep, session: SessionDep) -> Response:
    accounts = [found.account for found in sync_status(session, viewer.principal)]
    judged = [a for a in accounts if a.judged]
    verdicts = {a.verdict for a in judged}
    verdict = next((v for v in (health.FAILING, health.WARNINGS) if v in verdicts),
                   health.HEALTHY)
    return page(request, "admin_sync.html", viewer, nav="admin", admin_section="sync",
                accounts=accounts, judged=judged, verdict=verdict,
                failing=sum(1 for a in judged if a.verdict == health.FAILING),
                stale_hours=f"{health.DEFAULT_STALE_AFTER.total_seconds() / 3600:g}")
