"""Clients: the list of clients the viewer may see with a search box, and each client's
page - the covering colleague's one screen: the client's facts and contacts, who is
responsible and who covers them now, and the timeline (mail threads, file activity,
notes) newest first, filtered by kind, searchable, with a form for a note that can
@mention a colleague."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import is_htmx, locale_of, page
from api.web.routing import web_router
from hub.access.levels import Level
from hub.access.reasons import explain
from hub.clients import service as clients
from hub.clients.people import responsible_people
from hub.schemas import Cursor, IdParam, Search, Word
from hub.staff.directory import colleagues_matching
from hub.timeline import service as timeline
from hub.timeline.rows import FILTERS, timeline_rows
from hub.timeline.schemas import NoteIn

router = web_router(prefix="/clients")

PAGE_SIZE = 100
#: Timeline entries per page; more come in as the viewer scrolls.
TIMELINE_PAGE = 30


@router.get("")
def client_list(request: Request, viewer: ViewerDep, session: SessionDep, at: NowDep,
                q: Annotated[Search | None, Query()] = None,
                after: Annotated[Cursor | None, Query()] = None) -> Response:
    found = clients.list_clients(session, viewer.principal, at, q=q or None, limit=PAGE_SIZE,
                                 after=after)
    return page(request, "clients.html", viewer, nav="clients", q=q or "", found=found)


@router.get("/{client_id}")
def client_page(request: Request, client_id: IdParam, viewer: ViewerDep, session: SessionDep,
                at: NowDep, show: Annotated[Word | None, Query()] = None,
                q: Annotated[Search | None, Query()] = None,
                before: Annotated[Cursor | None, Query()] = None) -> Response:
    """404 when the client does not exist or the viewer may not see it, as the API.

    To htmx the timeline only: its next rows for "show more" (``before``), else the
    whole list for a new filter or search."""
    client, grant = clients.get_visible_client(session, viewer.principal, client_id, at)
    shown = show if show in FILTERS else "all"
    text = " ".join((q or "").split())
    found = timeline_rows(session, viewer.principal, client_id, at, show=shown, text=text,
                          before=before, limit=TIMELINE_PAGE)
    listing: dict[str, Any] = {"client": client, "grant": grant, "show": shown, "q": text,
                               "found": found, "filters": list(FILTERS)}
    if is_htmx(request) and not request.headers.get("hx-history-restore-request"):
        part = "partials/client_rows.html" if before else "partials/client_timeline.html"
        return page(request, part, viewer, **listing)
    return page(request, "client.html", viewer, nav="clients", **listing,
                later_page=before is not None,
                reason=explain(session, grant), full=grant.level >= Level.FULL,
                people=responsible_people(session, grant, at),
                locale_name=locale_of(request, viewer))


@router.post("/{client_id}/notes")
def add_note(client_id: IdParam, viewer: ViewerDep, session: SessionDep, at: NowDep,
             text: Annotated[str, Form(max_length=20_000)]) -> Response:
    """The note goes to the top of the timeline, where the page opens at it."""
    entry = timeline.add_note(session, viewer.principal, client_id, NoteIn(text=text), at)
    return RedirectResponse(f"/clients/{client_id}#entry-{entry.id}", status_code=303)


@router.get("/{client_id}/mentions")
def mention_suggestions(request: Request, client_id: IdParam, viewer: ViewerDep,
                        session: SessionDep, at: NowDep,
                        q: Annotated[Search, Query()] = "") -> Response:
    """Active colleagues matching what follows the "@" typed in a note, as options."""
    clients.get_visible_client(session, viewer.principal, client_id, at)
    found = colleagues_matching(session, viewer.principal, q)
    return page(request, "partials/client_mentions.html", viewer, colleagues=found)
