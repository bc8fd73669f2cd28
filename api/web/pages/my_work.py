"""My work, the first page after signing in: what changed on the viewer's clients since
they last looked (looking marks it seen), the clients they cover now for an absent
colleague (whose, and until when), notes that mention them, mail and drive folders
waiting for them, and their own clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import is_htmx, page
from api.web.routing import web_router
from hub.access.service import covered_clients
from hub.clients import service as clients
from hub.drive import service as drive
from hub.mail.waiting import unmatched_mail
from hub.schemas import Cursor
from hub.timeline.changes import changes_since_last_look
from hub.timeline.mentions import notes_mentioning

router = web_router()

#: Own clients per page; more come in below as the viewer asks for them.
PAGE_SIZE = 100
#: Rows of each list of things waiting (mail, folders, mentions) shown at once.
WAITING = 10


@router.get("/")
def my_work(request: Request, viewer: ViewerDep, session: SessionDep, at: NowDep,
            after: Annotated[Cursor | None, Query()] = None) -> Response:
    principal = viewer.principal
    own = clients.list_clients(session, principal, at, mine=True, limit=PAGE_SIZE,
                               after=after)
    if after is not None and is_htmx(request):
        # "Show more": the next rows, and the button for the rest, in place of the button.
        return page(request, "partials/own_client_rows.html", viewer, own=own)
    return page(request, "my_work.html", viewer, nav="my-work", own=own,
                changes=changes_since_last_look(session, principal, at),
                covered=covered_clients(session, principal, at),
                mentions=notes_mentioning(session, principal, at, limit=WAITING),
                mail=unmatched_mail(session, principal, limit=WAITING),
                folders=drive.unmapped(session, principal, limit=WAITING))
