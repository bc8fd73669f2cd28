"""A client's files: its drive folder, browsed folder by folder with the newest changes
first, and how the folder differs from the firm's folder template (its drift findings).

Both reads go through the services that decide access and audit the read
(:func:`hub.drive.service.browse_newest`, :func:`hub.folders.findings.client_findings`):
a client the viewer may not see is the same 404 as one that does not exist; a viewer who
sees the client below the level that shows file names is told so on the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import page
from api.web.routing import web_router
from hub.clients import service as clients
from hub.drive import service as drive
from hub.drive.schemas import FolderListingOut
from hub.errors import PermissionDenied
from hub.folders.check import ClientDrift
from hub.folders.findings import client_findings
from hub.schemas import Cursor, FolderPath, IdParam
from hub.timeutil import firm_today

router = web_router()

#: Entries per page; more come as the viewer asks for them.
PAGE_SIZE = 100


@router.get("/clients/{client_id}/files")
def files_page(request: Request, client_id: IdParam, viewer: ViewerDep, session: SessionDep,
               at: NowDep, path: Annotated[FolderPath, Query()] = "",
               after: Annotated[Cursor | None, Query()] = None) -> Response:
    client, _ = clients.get_visible_client(session, viewer.principal, client_id, at)
    listing: FolderListingOut | None = None
    refused = ""
    findings: list[ClientDrift] = []
    try:
        listing = drive.browse_newest(session, viewer.principal, client_id, at, path=path,
                                      limit=PAGE_SIZE, after=after)
    except PermissionDenied as exc:
        refused = exc.message
    if listing is not None:
        findings = client_findings(session, viewer.principal, client_id, at, firm_today(at))
    crumbs = _crumbs(listing.path if listing else "")
    return page(request, "files.html", viewer, nav="clients", client=client,
                listing=listing, refused=refused, findings=findings, crumbs=crumbs)


def _crumbs(path: str) -> list[tuple[str, str]]:
    """(name, path) of each folder from the client's root down to ``path``."""
    parts = [p for p in path.split("/") if p]
    return [(name, "".join(f"{p}/" for p in parts[:i + 1])) for i, name in enumerate(parts)]
