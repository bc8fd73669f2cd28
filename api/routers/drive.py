"""A client's drive folder, the review list of unmapped folders, and admins' root mappings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, NowDep, PrincipalDep, SessionDep
from hub.drive import service
from hub.drive.schemas import DriveRootIn, DriveRootOut, FolderListingOut, UnmappedFolderOut
from hub.schemas import Cursor, FolderPath, IdParam, ListPage

router = APIRouter(tags=["drive"])


@router.get("/clients/{client_id}/files", response_model=FolderListingOut)
def files(
    client_id: IdParam,
    principal: PrincipalDep,
    session: SessionDep,
    at: NowDep,
    path: Annotated[FolderPath, Query(description="A folder below the client's root, e.g. "
                                           "'Kirjanpito/2026'; empty for the root")] = "",
    account_id: Annotated[IdParam | None, Query(description="The drive, when the client has "
                                                        "folders on several")] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    after: Annotated[Cursor | None, Query(description="The 'next' of the previous page")] = None,
) -> FolderListingOut:
    """Folders first, then files, by name. Needs the 'subject' level; reads are audited."""
    return service.browse(session, principal, client_id, at, path=path,
                          account_id=account_id, limit=limit, after=after)


@router.get("/drive/unmapped", response_model=ListPage[UnmappedFolderOut])
def unmapped(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    after: Cursor | None = None,
) -> ListPage[UnmappedFolderOut]:
    """Folders at the clients level of your drives (admins: all) that are no client's
    root; map one with PUT /clients/{id}/drive-root."""
    page = service.unmapped(session, principal, limit=limit, after=after)
    return ListPage(items=list(page.items), next=page.next)


@router.put("/clients/{client_id}/drive-root", response_model=DriveRootOut)
def set_drive_root(client_id: IdParam, body: DriveRootIn, principal: AdminDep,
                   session: SessionDep) -> DriveRootOut:
    """Make a folder the client's root on a drive (its other roots there are cleared).
    Recalculation never overrides it."""
    return service.set_root(session, principal, client_id, body)


@router.delete("/clients/{client_id}/drive-root", status_code=204)
def clear_drive_root(
    client_id: IdParam,
    principal: AdminDep,
    session: SessionDep,
    account_id: Annotated[IdParam, Query(description="The drive account")],
    path: Annotated[FolderPath | None, Query(description="One root folder; default all of the "
                                                  "client's on that drive")] = None,
) -> None:
    """Clear the client's root folder(s) on a drive; automatic matching leaves them alone."""
    service.clear_root(session, principal, client_id, account_id, path)
