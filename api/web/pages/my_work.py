"""My work, the first page after signing in: the viewer's own clients, and the clients
they cover now for an absent colleague (whose, and until when)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import is_htmx, page
from api.web.routing import web_router
from hub.access.service import covered_clients
from hub.clients import service as clients
from hub.schemas import Cursor

router = web_router()

#: Own clients per page; more come in below as the viewer asks for them.
PAGE_SIZE = 100


@router.get("/")
def my_work(request: Request, viewer: ViewerDep, session: SessionDep, at: NowDep,
            after: Annotated[Cursor | None, Query()] = None) -> Response:
    own = clients.list_clients(session, viewer.principal, at, mine=True, limit=PAGE_SIZE,
                               after=after)
    if after is not None and is_htmx(request):
        # "Show more": the next rows, and the button for the rest, in place of the button.
        return page(request, "partials/own_client_rows.html", viewer, own=own)
    return page(request, "my_work.html", viewer, nav="my-work", own=own,
                covered=covered_clients(session, viewer.principal, at))
