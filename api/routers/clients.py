"""Clients: visible ones for everybody; creating and changing them for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AdminDep, NowDep, PrincipalDep, SessionDep
from hub.access.policy import client_levels
from hub.clients import service
from hub.clients.schemas import ClientIn, ClientOut, ClientPatch, ClientRegisterOut, Status
from hub.flows import clients as flows
from hub.schemas import Cursor, IdParam, ListPage, Search

router = APIRouter(prefix="/clients", tags=["clients"])


@router.get("", response_model=ListPage[ClientOut] | ListPage[ClientRegisterOut])
def list_clients(
    principal: PrincipalDep,
    session: SessionDep,
    at: NowDep,
    status: Status | None = None,
    group: Annotated[IdParam | None, Query(description="Client group id")] = None,
    special_group: Annotated[IdParam | None, Query(description="Special group id")] = None,
    mine: Annotated[bool, Query(description="Only clients you are responsible for")] = False,
    covering: Annotated[bool, Query(description="Only clients you see through a cover")] = False,
    q: Annotated[Search | None, Query(description="Search in name and business ID")] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    after: Cursor | None = None,
    scope: Annotated[
        Literal["visible", "register"],
        Query(description="'register' (admins): every client's register entry, no timelines"),
    ] = "visible",
) -> ListPage[ClientOut] | ListPage[ClientRegisterOut]:
    """The clients you may see, by customer number."""
    register = scope == "register"
    page = service.list_clients(
        session,
        principal,
        at,
        status=status,
        group_id=group,
        special_group_id=special_group,
        mine=mine,
        covering=covering,
        q=q,
        limit=limit,
        after=after,
        register=register,
    )
    if register:
        return ListPage[ClientRegisterOut](
            items=[ClientRegisterOut.model_validate(c) for c in page.items], next=page.next
        )
    levels = client_levels(session, principal, at, [c.id for c in page.items])
    items = []
    for client in page.items:
        out = service.describe_client(client, None)
        out.access_level = levels[client.id].label
        items.append(out)
    return ListPage[ClientOut](items=items, next=page.next)


@router.get("/{client_id}", response_model=ClientOut)
def get_client(
    client_id: IdParam, principal: PrincipalDep, session: SessionDep, at: NowDep
) -> ClientOut:
    """One client; 404 when it does not exist or you may not see it."""
    client, grant = service.get_visible_client(session, principal, client_id, at)
    return service.describe_client(client, grant)


@router.post("", response_model=ClientOut, status_code=201)
def create_client(body: ClientIn, principal: AdminDep, session: SessionDep) -> ClientOut:
    client = flows.create_client(session, principal, body)
    return service.describe_client(client, None)


@router.patch("/{client_id}", response_model=ClientOut)
def update_client(
    client_id: IdParam, body: ClientPatch, principal: AdminDep, session: SessionDep
) -> ClientOut:
    client = service.get_client_for_admin(session, client_id)
    flows.update_client(session, principal, client, body)
    return service.describe_client(client, None)


@router.delete("/{client_id}", status_code=204)
def delete_client(client_id: IdParam, principal: AdminDep, session: SessionDep) -> None:
    """Only a client without a timeline can be deleted; archive the others."""
    client = service.get_client_for_admin(session, client_id)
    flows.delete_client(session, principal, client)
