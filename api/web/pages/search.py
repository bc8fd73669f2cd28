"""Search across the clients the viewer may see: a box in every page's header, and this
page with the hits grouped by kind, updated as the viewer types (htmx)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import is_htmx, page
from api.web.routing import web_router
from hub.schemas import Search
from hub.search import service
from hub.search.schemas import KINDS

router = web_router()

#: Hits of each kind on the page.
PER_KIND = 10


@router.get("/search")
def search_page(request: Request, viewer: ViewerDep, session: SessionDep, at: NowDep,
                q: Annotated[Search | None, Query()] = None) -> Response:
    query = (q or "").strip()
    hits = service.search(session, viewer.principal, query, limit=PER_KIND, at=at) \
        if query else []
    groups = [(kind, [h for h in hits if h.kind == kind]) for kind in KINDS]
    context: dict[str, Any] = {"q": query, "groups": [(k, found) for k, found in groups if found],
               "total": len(hits)}
    if is_htmx(request) and request.headers.get("hx-target") == "search-results":
        return page(request, "partials/search_results.html", viewer, **context)
    return page(request, "search.html", viewer, nav="search", **context)
