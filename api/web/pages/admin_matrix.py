"""The responsibilities matrix: clients as rows, staff as columns; a click on a cell adds
or removes the chosen role (htmx swaps the cell). The filters live in the query string,
so a filtered view can be bookmarked, and the export takes the same filters."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request, Response

from api.deps import NowDep, SessionDep
from api.web.deps import AdminViewerDep
from api.web.render import PAGE_HEADERS, is_htmx, locale_of, page
from api.web.routing import web_router
from hub.clients import groups
from hub.clients import matrix as service
from hub.clients.matrix import MatrixFilter
from hub.clients.matrix_export import matrix_workbook
from hub.schemas import Cursor, IdParam, Search, Word
from hub.staff import service as staff
from hub.staff.web_sessions import Viewer
from hub.timeutil import firm_today

router = web_router(prefix="/responsibilities")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The role a click gives, until the admin picks another.
DEFAULT_ROLE = "asiakasvastaava"


def _id(value: str | None) -> int | None:
    """An id from a filter field; the empty choice ("all") and anything else: none."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**31 else None


def _filters(group: str | None, special: str | None, role: str | None, person: str | None,
             q: str | None) -> MatrixFilter:
    return MatrixFilter(group_id=_id(group), special_group_id=_id(special),
                        role=role or None, user_id=_id(person), q=(q or "").strip())


def _query(filters: MatrixFilter, set_role: str) -> str:
    """The query string of a view: what a bookmark, "show more" and the export keep."""
    values = {"group": filters.group_id, "special": filters.special_group_id,
              "role": filters.role, "person": filters.user_id, "q": filters.q,
              "set_role": set_role}
    return urlencode({k: v for k, v in values.items() if v})


def _role_names(request: Request, viewer: Viewer, session: SessionDep) -> dict[str, str]:
    english = locale_of(request, viewer) == "en"
    return {r.key: r.name_en if english else r.name_fi for r in groups.list_roles(session)}


FilterParam = Annotated[str | None, Query(max_length=20)]


@router.get("")
def matrix_page(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
                group: FilterParam = None, special: FilterParam = None,
                role: Annotated[Word | None, Query()] = None, person: FilterParam = None,
                q: Annotated[Search | None, Query()] = None,
                set_role: Annotated[Word | None, Query()] = None,
                after: Annotated[Cursor | None, Query()] = None) -> Response:
    filters = _filters(group, special, role, person, q)
    role_names = _role_names(request, viewer, session)
    chosen = set_role if set_role in role_names else (
        DEFAULT_ROLE if DEFAULT_ROLE in role_names else next(iter(role_names), ""))
    matrix = service.responsibility_matrix(session, viewer.principal, at, filters,
                                           after=after or None)
    context: dict[str, Any] = {"matrix": matrix, "role_names": role_names, "set_role": chosen,
               "query": _query(filters, chosen)}
    if is_htmx(request) and after:
        return page(request, "partials/admin_matrix_rows.html", viewer, **context)
    if is_htmx(request) and request.headers.get("hx-target") == "matrix-results":
        return page(request, "partials/admin_matrix_results.html", viewer, **context)
    return page(request, "admin_matrix.html", viewer, nav="admin",
                admin_section="responsibilities",
                client_groups=groups.list_client_groups(session),
                special_groups=groups.list_special_groups(session), **context)


@router.post("/cell")
def toggle_cell(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
                client_id: Annotated[IdParam, Form()], user_id: Annotated[IdParam, Form()],
                role: Annotated[Word, Form()]) -> Response:
    """Add or remove ``role``; answers the cell as it is now, which htmx swaps in."""
    service.toggle_role(session, viewer.principal, client_id, user_id, role, at)
    row = service.matrix_row(session, viewer.principal, client_id, at)
    return page(request, "partials/admin_matrix_cell.html", viewer, row=row,
                person=staff.get_user(session, user_id), set_role=role,
                role_names=_role_names(request, viewer, session))


@router.get("/export.xlsx")
def export_matrix(request: Request, viewer: AdminViewerDep, session: SessionDep, at: NowDep,
                  group: FilterParam = None, special: FilterParam = None,
                  role: Annotated[Word | None, Query()] = None, person: FilterParam = None,
                  q: Annotated[Search | None, Query()] = None) -> Response:
    """Every row of the filtered matrix (not only those shown so far) as an Excel file."""
    matrix = service.responsibility_matrix(session, viewer.principal, at,
                                           _filters(group, special, role, person, q),
                                           limit=None)
    language = locale_of(request, viewer)
    content = matrix_workbook(matrix, _role_names(request, viewer, session), language)
    stem = "vastuut" if language == "fi" else "responsibilities"
    headers = {**PAGE_HEADERS, "Content-Disposition":
               f'attachment; filename="{stem}-{firm_today(at).isoformat()}.xlsx"'}
    headers.pop("Content-Security-Policy")
    return Response(content, media_type=XLSX, headers=headers)
