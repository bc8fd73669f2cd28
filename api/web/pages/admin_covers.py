"""Covers (sijaisuudet): the running and the upcoming ones, starting one in three steps -
who is away, who covers (all of the absent person's clients or some), until when - and
ending one early. A cover takes effect at once: the covering colleague's next page shows
the clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api.deps import NowDep, SessionDep
from api.web.deps import AdminViewerDep
from api.web.render import gettext_for, page
from api.web.routing import web_router
from hub.access import cover_board
from hub.access import service as covers
from hub.access.schemas import CoverIn
from hub.errors import InvalidInput
from hub.schemas import IdParam
from hub.staff import service as staff
from hub.staff.web_sessions import Viewer
from hub.timeutil import in_firm_zone

router = web_router(prefix="/covers")

#: What <input type="datetime-local"> sends and shows: wall-clock time in the firm's zone.
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _local(value: datetime) -> str:
    shown = in_firm_zone(value)
    assert shown is not None
    return shown.strftime(LOCAL_INPUT)


def _covers_page(request: Request, viewer: Viewer, session: SessionDep, at: datetime, *,
                 status: int = 200, error: str = "", form: dict[str, object] | None = None,
                 started: int | None = None, ended: bool = False) -> Response:
    lines = cover_board.current_and_upcoming(session, viewer.principal, at)
    people = staff.list_users(session, limit=200, include_inactive=False).items
    chosen = form or {"absent_user_id": "", "covering_user_id": "", "scope": "all",
                      "client_ids": [], "valid_from": _local(at), "valid_until": "",
                      "note": ""}
    absent = chosen.get("absent_user_id")
    choices = (cover_board.clients_of(session, viewer.principal, int(absent), at)
               if isinstance(absent, str) and absent.isdigit() else [])
    return page(request, "admin_covers.html", viewer, status=status, nav="admin",
                admin_section="covers", lines=lines, people=people, error=error,
                form=chosen, choices=choices, ended=ended,
                started=next((line for line in lines if line.id == started), None))


@router.get("")
def covers_page(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
                started: Annotated[IdParam | None, Query()] = None,
                ended: bool = False) -> Response:
    return _covers_page(request, viewer, session, at, started=started, ended=ended)


@router.get("/clients")
def absent_clients(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
                   absent_user_id: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Step 2's client list for the person chosen in step 1 (htmx swaps it in)."""
    choices = (cover_board.clients_of(session, viewer.principal, int(absent_user_id), at)
               if absent_user_id.isdigit() else [])
    return page(request, "partials/admin_cover_clients.html", viewer, choices=choices,
                form={"client_ids": []}, absent_chosen=absent_user_id.isdigit())


def _moment(value: str, field: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), LOCAL_INPUT)  # naive: the firm's zone
    except ValueError:
        raise InvalidInput(f"{value!r} is no date and time", field=field) from None


def _cover_in(absent: int, covering: int, start: datetime, end: datetime,
              client_ids: list[int] | None, note: str) -> CoverIn:
    """The cover asked for; a value the hub refuses (a year out of range, say) is an
    InvalidInput on its field, as the service's own refusals are."""
    try:
        return CoverIn(absent_user_id=absent, covering_user_id=covering, valid_from=start,
                       valid_until=end, client_ids=client_ids, note=note)
    except ValidationError as exc:
        where = exc.errors()[0]["loc"]
        raise InvalidInput(str(exc), field=str(where[0]) if where else None) from None


@router.post("")
def start_cover(
    request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
    absent_user_id: Annotated[str, Form(max_length=20)] = "",
    covering_user_id: Annotated[str, Form(max_length=20)] = "",
    scope: Annotated[str, Form(max_length=10)] = "all",
    client_ids: Annotated[list[IdParam] | None, Form()] = None,
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_until: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _ = gettext_for(request, viewer)
    form: dict[str, object] = {
        "absent_user_id": absent_user_id, "covering_user_id": covering_user_id,
        "scope": scope, "client_ids": client_ids or [], "valid_from": valid_from,
        "valid_until": valid_until, "note": note}
    narrowed = scope == "some"
    try:
        if not absent_user_id.isdigit():
            raise InvalidInput("", field="absent_user_id")
        if not covering_user_id.isdigit():
            raise InvalidInput("", field="covering_user_id")
        if narrowed and not client_ids:
            raise InvalidInput("", field="client_ids")
        details = _cover_in(int(absent_user_id), int(covering_user_id),
                            _moment(valid_from, "valid_from") if valid_from.strip() else at,
                            _moment(valid_until, "valid_until"),
                            client_ids if narrowed else None, note.strip())
        with session.begin_nested():  # the page shown with a refusal lists no half-made cover
            cover = covers.create_cover(session, viewer.principal, details, at)
    except InvalidInput as exc:
        messages = {
            "absent_user_id": _("Choose who is away."),
            "covering_user_id": _("Choose who covers: an active colleague other than the "
                                  "one who is away."),
            "client_ids": _("Tick at least one client, or choose all of their clients."),
            "valid_from": _("Give the start as a date and time."),
            "valid_until": _("Give the end as a date and time after the start."),
        }
        return _covers_page(request, viewer, session, at, status=422, form=form,
                            error=messages.get(exc.field or "", exc.message))
    return RedirectResponse(f"/admin/covers?started={cover.id}", status_code=303)


@router.post("/{cover_id}/end")
def end_cover(cover_id: IdParam, viewer: AdminViewerDep, session: SessionDep,
              at: NowDep) -> Response:
    """End a running cover now, or call off one not begun yet."""
    cover_board.end_cover_now(session, viewer.principal, cover_id, at)
    return RedirectResponse("/admin/covers?ended=true", status_code=303)
