"""Clients: the list of clients the viewer may see with a search box, and each client's
page (its facts for now; the timeline, people and files join it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import page
from api.web.routing import web_router
from hub.clients import service as clients
from hub.schemas import Cursor, IdParam, Search

router = web_router(prefix="/clients")

PAGE_SIZE = 100


@router.get("")
def client_list(request: Request, viewer: ViewerDep, session: SessionDep, at: NowDep,
                q: Annotated[Search | None, Query()] = None,
                after: Annotated[Cursor | None, Query()] = None) -> Response:
    found = clients.list_clients(session, viewer.principal, at, q=q or None, limit=PAGE_SIZE,
                                 after=after)
    return page(request, "clients.html", viewer, nav="clients", q=q or "", found=found)


@router.get("/{client_id}")
def client_page(request: Request, client_id: IdParam, viewer: ViewerDep, session: SessionDep,
                at: NowDep) -> Response:
    """404 when the client does not exist or the viewer may not see it, as the API."""
    client, grant = clients.get_visible_client(session, viewer.principal, client_id, at)
    return page(request, "client.html", viewer, nav="clients", client=client, grant=grant)
