"""A client's timeline and its notes; every read is audited by the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import NowDep, PrincipalDep, SessionDep
from hub.access.policy import Level
from hub.schemas import Cursor, IdParam, ListPage, Search, Word
from hub.timeline import service
from hub.timeline.schemas import NoteIn, TimelineEntryOut

router = APIRouter(prefix="/clients/{client_id}", tags=["timeline"])


@router.get("/timeline", response_model=ListPage[TimelineEntryOut])
def timeline(
    client_id: IdParam,
    principal: PrincipalDep,
    session: SessionDep,
    at: NowDep,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    before: Annotated[Cursor | None, Query(description="The 'next' of the previous page")] = None,
    kind: Annotated[Word | None, Query(description="note, message, file_activity or task")] = None,
    q: Annotated[Search | None, Query(
        description="Only entries containing this text in any case: in the title, summary "
                    "or body at the full level, in the title at the subject level")] = None,
) -> JSONResponse:
    """Newest first, at the level you may see."""
    page = service.read_timeline(
        session, principal, client_id, at, limit=limit, before=before, kind=kind, text=q
    )
    # The entries come shaped as the response model writes them (hub.timeline.service
    # .shape): validating each again would cost more than reading and auditing the page.
    return JSONResponse({"items": page.items, "next": page.next})


@router.get("/timeline/{entry_id}", response_model=TimelineEntryOut)
def entry(
    client_id: IdParam, entry_id: IdParam, principal: PrincipalDep, session: SessionDep, at: NowDep
) -> TimelineEntryOut:
    return service.read_entry(session, principal, client_id, entry_id, at)


@router.post("/notes", response_model=TimelineEntryOut, status_code=201)
def add_note(
    client_id: IdParam, body: NoteIn, principal: PrincipalDep, session: SessionDep, at: NowDep
) -> TimelineEntryOut:
    """An internal note; @email or @firstname mentions colleagues."""
    entry = service.add_note(session, principal, client_id, body, at)
    return service.project(entry, Level.FULL)  # writing a note needs full access
