"""Search across the clients you may see; the service decides what each hit shows."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Query

from api.deps import NowDep, PrincipalDep, SessionDep
from hub.schemas import Search
from hub.search import service
from hub.search.schemas import Kind, SearchOut

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchOut)
def search(
    principal: PrincipalDep,
    session: SessionDep,
    at: NowDep,
    q: Annotated[Search, Query(description="Words to find; each finds words it begins, "
                                           "all must be found")],
    kind: Annotated[list[Kind] | None, Query(max_length=len(get_args(Kind)),
                                             description="Only these kinds of hit")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT,
                                description="At most this many hits of each kind")] = 10,
) -> SearchOut:
    """Clients, contacts, mail, notes and file names that match, at the level you may see
    each; clients you may not see give no hits, as if they were not there."""
    hits = service.search(session, principal, q, limit=limit, kinds=kind, at=at)
    return SearchOut(query=q, hits=hits)
