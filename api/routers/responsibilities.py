"""The responsibilities matrix (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import AdminDep, SessionDep
from hub.clients import responsibilities as service
from hub.clients.export import responsibilities_workbook
from hub.clients.groups import list_client_groups
from hub.clients.schemas import ResponsibilityIn, ResponsibilityOut, ResponsibilityPatch
from hub.schemas import Cursor, IdParam, ListPage, Moment, Word
from hub.timeutil import to_instant

router = APIRouter(prefix="/responsibilities", tags=["admin: responsibilities"])


@router.get("", response_model=ListPage[ResponsibilityOut])
def list_responsibilities(
    _: AdminDep,
    session: SessionDep,
    client_id: IdParam | None = None,
    user_id: IdParam | None = None,
    role: Word | None = None,
    group: Annotated[IdParam | None, Query(description="Client group id")] = None,
    active_at: Annotated[
        Moment | None, Query(description="ISO date or time: only those valid then")
    ] = None,
    include_archived: bool = True,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    after: Cursor | None = None,
) -> ListPage[ResponsibilityOut]:
    page = service.list_responsibilities(
        session,
        client_id=client_id,
        user_id=user_id,
        role=role,
        group_id=group,
        active_at=to_instant(active_at),
        include_archived=include_archived,
        limit=limit,
        after=after,
    )
    return ListPage(items=list(page.items), next=page.next)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}})
def export_responsibilities(
    _: AdminDep,
    session: SessionDep,
    request: Request,
    client_id: IdParam | None = None,
    user_id: IdParam | None = None,
    role: Word | None = None,
    group: Annotated[IdParam | None, Query(description="Client group id")] = None,
    include_archived: bool = True,
) -> Response:
    """The responsible-persons list as an Excel file, with the same filters."""
    rows = service.all_responsibilities(
        session, client_id=client_id, user_id=user_id, role=role, group_id=group,
        include_archived=include_archived,
    )
    names = {g.id: g.name for g in list_client_groups(session)}
    language = request.app.state.settings.language
    content = responsibilities_workbook(rows, names, language)
    filename = "vastuuhenkilot.xlsx" if language == "fi" else "responsible-persons.xlsx"
    return Response(content, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("", response_model=ResponsibilityOut, status_code=201)
def create_responsibility(
    body: ResponsibilityIn, p: AdminDep, session: SessionDep
) -> ResponsibilityOut:
    row = service.create_responsibility(session, p, body)
    return _one(session, row.id)


@router.get("/{responsibility_id}", response_model=ResponsibilityOut)
def get_responsibility(
    responsibility_id: IdParam, _: AdminDep, session: SessionDep
) -> ResponsibilityOut:
    return _one(session, responsibility_id)


@router.patch("/{responsibility_id}", response_model=ResponsibilityOut)
def update_responsibility(
    responsibility_id: IdParam, body: ResponsibilityPatch, p: AdminDep, session: SessionDep
) -> ResponsibilityOut:
    row = service.update_responsibility(
        session, p, service.get_responsibility(session, responsibility_id), body
    )
    return _one(session, row.id)


@router.delete("/{responsibility_id}", status_code=204)
def delete_responsibility(responsibility_id: IdParam, p: AdminDep, session: SessionDep) -> None:
    service.delete_responsibility(
        session, p, service.get_responsibility(session, responsibility_id))


def _one(session: SessionDep, responsibility_id: IdParam) -> ResponsibilityOut:
    return service.describe_one(session, service.get_responsibility(session, responsibility_id))
