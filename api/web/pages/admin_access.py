"""The admin's access screens: access rules (who sees which clients, at which level) and
the client groups and special groups that the rules and the folder templates are scoped
by. The same services as ``/api/v1/access-rules``, ``/client-groups`` and
``/special-groups``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from api.deps import NowDep, SessionDep
from api.web.deps import AdminViewerDep
from api.web.render import locale_of, page
from api.web.routing import web_router
from hub.access import service as access
from hub.access.schemas import AccessRuleIn, LevelName
from hub.clients import groups
from hub.clients import service as clients
from hub.clients.models import Client
from hub.clients.schemas import ClientGroupIn, ClientPatch, SpecialGroupIn
from hub.errors import InvalidInput
from hub.flows import clients as client_flows
from hub.paging import MAX_LIMIT
from hub.schemas import ID_MAX, IdParam
from hub.staff.web_sessions import Viewer

router = web_router(prefix="/admin")

#: What an admin picks as a rule's subject: everyone, admins, or holders of one role.
ROLE_PREFIX = "role:"
Name = Annotated[str, Form(min_length=1, max_length=200)]
#: A select's value: an id, or empty for "any" or "none" (:func:`optional_id`).
Scope = Annotated[str, Form(max_length=20)]
Shape = TypeVar("Shape", bound=BaseModel)


def _done(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def optional_id(value: str, field: str) -> int | None:
    """A select's value: empty for "any", else an id."""
    if value == "":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= ID_MAX:
        raise InvalidInput(f"{value!r} is no {field}; choose one from the list", field=field)
    return int(value)


def valid(shape: Callable[..., Shape], **fields: object) -> Shape:
    """A service's input built from a form; what the form let through and the shape does
    not take is the admin's to correct, not a server error."""
    try:
        return shape(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{field}: {first['msg']}; correct it and send the form again",
                           field=field) from None


def client_register(session: Session, viewer: Viewer, at: datetime, *,
                    group_id: int | None = None,
                    special_group_id: int | None = None) -> list[Client]:
    """Every client's register entry (admins), by customer number, a page at a time."""
    found: list[Client] = []
    after: str | None = None
    while True:
        chunk = clients.list_clients(session, viewer.principal, at, register=True,
                                     limit=MAX_LIMIT, after=after, group_id=group_id,
                                     special_group_id=special_group_id)
        found += chunk.items
        if chunk.next is None:
            return found
        after = chunk.next


# -- access rules -------------------------------------------------------------------------


@router.get("/access-rules")
def access_rules(request: Request, viewer: AdminViewerDep, session: SessionDep) -> Response:
    roles = groups.list_roles(session)
    client_groups = groups.list_client_groups(session)
    special_groups = groups.list_special_groups(session)
    finnish = locale_of(request, viewer) == "fi"
    return page(request, "admin_rules.html", viewer, nav="admin", admin_section="access-rules",
                rules=access.list_rules(session), roles=roles,
                role_names={r.key: r.name_fi if finnish else r.name_en for r in roles},
                client_groups=client_groups, special_groups=special_groups,
                cg_names={g.id: g.name for g in client_groups},
                sg_names={g.id: g.name for g in special_groups})


@router.post("/access-rules")
def add_access_rule(viewer: AdminViewerDep, session: SessionDep,
                    who: Annotated[str, Form(min_length=1, max_length=80)],
                    level: Annotated[LevelName, Form()],
                    client_group: Scope = "", special_group: Scope = "") -> Response:
    role = who.removeprefix(ROLE_PREFIX) if who.startswith(ROLE_PREFIX) else None
    subject: Literal["role", "admin", "staff"]
    if role is not None:
        subject = "role"
    elif who in ("admin", "staff"):
        subject = "admin" if who == "admin" else "staff"
    else:
        raise InvalidInput(f"{who!r} is no one a rule can be for; choose from the list",
                           field="who")
    access.create_rule(session, viewer.principal, valid(AccessRuleIn,
        subject=subject, role=role, level=level,
        client_group_id=optional_id(client_group, "client_group"),
        special_group_id=optional_id(special_group, "special_group")))
    return _done("/admin/access-rules")


@router.post("/access-rules/{rule_id}/delete")
def remove_access_rule(rule_id: IdParam, viewer: AdminViewerDep,
                       session: SessionDep) -> Response:
    access.delete_rule(session, viewer.principal, access.get_rule(session, rule_id))
    return _done("/admin/access-rules")


# -- client groups and special groups -----------------------------------------------------


@router.get("/groups")
def client_groups(request: Request, viewer: AdminViewerDep, session: SessionDep,
                  at: NowDep) -> Response:
    register = client_register(session, viewer, at)
    specials = groups.list_special_groups(session)
    members = {g.id: client_register(session, viewer, at, special_group_id=g.id)
               for g in specials}
    return page(request, "admin_groups.html", viewer, nav="admin", admin_section="groups",
                client_groups=groups.list_client_groups(session), special_groups=specials,
                register=register, special_members=members)


@router.post("/groups/client-groups")
def add_client_group(viewer: AdminViewerDep, session: SessionDep, name: Name,
                     starting_customer_number: Annotated[int, Form(ge=0, le=2**31 - 1)]
                     = 1000) -> Response:
    groups.create_client_group(session, viewer.principal, valid(ClientGroupIn,
        name=name, starting_customer_number=starting_customer_number))
    return _done("/admin/groups")


@router.post("/groups/client-groups/{group_id}/delete")
def remove_client_group(group_id: IdParam, viewer: AdminViewerDep,
                        session: SessionDep) -> Response:
    groups.delete_client_group(session, viewer.principal,
                               groups.get_client_group(session, group_id))
    return _done("/admin/groups")


@router.post("/groups/special-groups")
def add_special_group(viewer: AdminViewerDep, session: SessionDep, name: Name,
                      description: Annotated[str, Form(max_length=2000)] = "") -> Response:
    groups.create_special_group(session, viewer.principal,
                                valid(SpecialGroupIn, name=name, description=description))
    return _done("/admin/groups")


@router.post("/groups/special-groups/{group_id}/delete")
def remove_special_group(group_id: IdParam, viewer: AdminViewerDep,
                         session: SessionDep) -> Response:
    groups.delete_special_group(session, viewer.principal,
                                groups.get_special_group(session, group_id))
    return _done("/admin/groups")


@router.post("/groups/assign")
def assign_client_group(viewer: AdminViewerDep, session: SessionDep,
                        client: Annotated[IdParam, Form()], client_group: Scope = "") -> Response:
    """Move a client into a client group, or out of every group (empty)."""
    row = clients.get_client_for_admin(session, client)
    group_id = optional_id(client_group, "client_group")
    client_flows.update_client(session, viewer.principal, row,
                               ClientPatch(group_id=group_id))
    return _done("/admin/groups")


@router.post("/groups/special-groups/{group_id}/members")
def add_special_member(group_id: IdParam, viewer: AdminViewerDep, session: SessionDep,
                       client: Annotated[IdParam, Form()]) -> Response:
    group = groups.get_special_group(session, group_id)
    row = clients.get_client_for_admin(session, client)
    kept = [g.id for g in row.special_groups]
    if group.id not in kept:
        client_flows.update_client(session, viewer.principal, row,
                                   ClientPatch(special_group_ids=[*kept, group.id]))
    return _done("/admin/groups")


@router.post("/groups/special-groups/{group_id}/members/{client_id}/delete")
def remove_special_member(group_id: IdParam, client_id: IdParam, viewer: AdminViewerDep,
                          session: SessionDep) -> Response:
    group = groups.get_special_group(session, group_id)
    row = clients.get_client_for_admin(session, client_id)
    kept = [g.id for g in row.special_groups if g.id != group.id]
    client_flows.update_client(session, viewer.principal, row,
                               ClientPatch(special_group_ids=kept))
    return _done("/admin/groups")
