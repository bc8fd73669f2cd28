"""Clients and their contacts: creating, changing, and listing what a principal may see.

What may identify a client in mail (its domains, its contacts' addresses) is checked in
:mod:`hub.clients.addresses`. What follows a change in other domains (past mail re-matched,
a client with a timeline kept) is :mod:`hub.flows.clients`'s to do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from hub.access import audit
from hub.access.policy import (
    Grant,
    Principal,
    check,
    covered_client_ids,
    own_client_ids,
    require_admin_or_server,
    scope_clients,
)
from hub.clients.addresses import normalize_domain, require_free_address, require_free_domain
from hub.clients.business_id import normalize_business_id
from hub.clients.models import (
    Client,
    ClientDomain,
    ClientGroup,
    Contact,
    ContactEmail,
    SpecialGroup,
    client_special_groups,
)
from hub.clients.schemas import ClientIn, ClientOut, ClientPatch, ContactIn
from hub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hub.paging import Page, clamp_limit, decode_cursor, page_of


def _not_visible(client_id: int) -> NotFound:
    return NotFound(f"no client with id {client_id} is visible to you")


def _domains(session: Session, values: list[str], client: Client | None) -> list[str]:
    """The normalized domains, in order; a new one is refused on its field ``domains.N``."""
    have = {d.domain for d in client.domains} if client is not None else set()
    wanted: list[str] = []
    for n, value in enumerate(values):
        domain = normalize_domain(value, field=f"domains.{n}")
        if domain not in have and domain not in wanted:
            require_free_domain(session, domain, client.id if client else None,
                                field=f"domains.{n}")
        if domain not in wanted:
            wanted.append(domain)
    return wanted


def _checked_contacts(session: Session, items: list[ContactIn], client_id: int | None,
                      have: set[str]) -> list[Contact]:
    """The contacts; an address new to the client is refused on ``contacts.N.emails.M``."""
    for n, item in enumerate(items):
        for m, email in enumerate(item.emails):
            if str(email).lower() not in have:
                require_free_address(session, str(email), client_id,
                                     field=f"contacts.{n}.emails.{m}")
    return _contacts(items)


def next_customer_number(session: Session, group: ClientGroup | None) -> int:
    """Numbers in a group count up from its starting number; without a group, from 1."""
    start = group.starting_customer_number if group else 1
    stmt = select(func.max(Client.customer_number))
    if group is not None:
        stmt = stmt.where(Client.group_id == group.id, Client.customer_number >= start)
    highest = session.scalar(stmt)
    number = max(start, (highest or 0) + 1)
    while session.scalar(select(Client.id).where(Client.customer_number == number)):
        number += 1
    return number


def _group(session: Session, group_id: int | None) -> ClientGroup | None:
    if group_id is None:
        return None
    group = session.get(ClientGroup, group_id)
    if group is None:
        raise InvalidInput(
            f"no client group with id {group_id}; list groups with GET /api/v1/client-groups",
            field="group_id",
        )
    return group


def _special_groups(session: Session, ids: list[int]) -> list[SpecialGroup]:
    groups = list(session.scalars(select(SpecialGroup).where(SpecialGroup.id.in_(ids))))
    missing = set(ids) - {g.id for g in groups}
    if missing:
        raise InvalidInput(
            f"no special group with id {sorted(missing)[0]}; list them with "
            "GET /api/v1/special-groups",
            field="special_group_ids",
        )
    return groups


def _contacts(items: list[ContactIn]) -> list[Contact]:
    contacts = []
    for item in items:
        emails = list(dict.fromkeys(str(e).lower() for e in item.emails))
        contacts.append(
            Contact(
                name=item.name,
                phone=item.phone,
                role=item.role,
                emails=[ContactEmail(email=e) for e in emails],
            )
        )
    return contacts


def _business_id(session: Session, value: str | None, client_id: int | None) -> str | None:
    if value is None or not value.strip():
        return None
    normalized = normalize_business_id(value)
    other = session.scalar(
        select(Client).where(Client.business_id == normalized, Client.id != (client_id or -1))
    )
    if other is not None:
        raise Conflict(f"business ID {normalized} already belongs to another client")
    return normalized


def _customer_number(session: Session, number: int, client_id: int | None) -> int:
    taken = session.scalar(
        select(Client.id).where(Client.customer_number == number, Client.id != (client_id or -1))
    )
    if taken is not None:
        raise Conflict(f"customer number {number} is taken; leave it out to get the next free one")
    return number


def create_client(session: Session, principal: Principal | None, data: ClientIn) -> Client:
    """A new client, by an admin (``principal``) or the command line (``None``)."""
    require_admin_or_server(principal)
    group = _group(session, data.group_id)
    client = Client(
        name=data.name,
        name_key=data.name.casefold(),
        business_id=_business_id(session, data.business_id, None),
        status=data.status,
        group_id=group.id if group else None,
        customer_number=(
            _customer_number(session, data.customer_number, None)
            if data.customer_number is not None
            else next_customer_number(session, group)
        ),
        summary=data.summary,
        special_groups=_special_groups(session, data.special_group_ids),
        domains=[ClientDomain(domain=d) for d in _domains(session, data.domains, None)],
        contacts=_checked_contacts(session, data.contacts, None, set()),
    )
    session.add(client)
    session.flush()
    audit.record_by(session, principal, "client.create", client_id=client.id,
                    detail={"name": client.name})
    return client


def reach(client: Client) -> tuple[set[str], set[str]]:
    """The addresses and domains that identify the client in mail."""
    return ({e.email for c in client.contacts for e in c.emails},
            {d.domain for d in client.domains})


def update_client(session: Session, principal: Principal | None, client: Client,
                  patch: ClientPatch) -> Client:
    require_admin_or_server(principal)
    fields = patch.model_fields_set
    before = reach(client)
    if "name" in fields and patch.name is not None:
        client.name, client.name_key = patch.name, patch.name.casefold()
    if "business_id" in fields:
        client.business_id = _business_id(session, patch.business_id, client.id)
    if "status" in fields and patch.status is not None:
        client.status = patch.status
    if "group_id" in fields:
        client.group_id = g.id if (g := _group(session, patch.group_id)) else None
    if "customer_number" in fields and patch.customer_number is not None:
        client.customer_number = _customer_number(session, patch.customer_number, client.id)
    if "special_group_ids" in fields and patch.special_group_ids is not None:
        client.special_groups = _special_groups(session, patch.special_group_ids)
    if "domains" in fields and patch.domains is not None:
        wanted = _domains(session, patch.domains, client)
        kept = [d for d in client.domains if d.domain in wanted]
        have = {d.domain for d in kept}
        client.domains = kept + [ClientDomain(domain=d) for d in wanted if d not in have]
    if "contacts" in fields and patch.contacts is not None:
        client.contacts = _checked_contacts(session, patch.contacts, client.id, before[0])
    if "summary" in fields and patch.summary is not None:
        client.summary = patch.summary
    session.flush()
    audit.record_by(session, principal, "client.update", client_id=client.id,
                    detail={"fields": sorted(fields)})
    return client


def delete_client(session: Session, principal: Principal | None, client: Client) -> None:
    """Delete the client; whether it may go (it has no timeline) is asked first, by
    :func:`hub.flows.clients.delete_client`."""
    require_admin_or_server(principal)
    client_id, name = client.id, client.name
    session.delete(client)
    session.flush()
    audit.record_by(session, principal, "client.delete", client_id=client_id,
                    detail={"name": name})


def get_client_for_admin(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"no client with id {client_id}")
    return client


def get_visible_client(
    session: Session, principal: Principal, client_id: int, at: datetime
) -> tuple[Client, Grant]:
    """The client and the grant that shows it; NotFound when not visible, as if absent."""
    grant = check(session, principal, client_id, at)
    if grant is None:
        raise _not_visible(client_id)
    client = session.get(Client, client_id)
    assert client is not None  # check() found it
    return client, grant


def list_clients(
    session: Session,
    principal: Principal | None,
    at: datetime,
    *,
    status: str | None = None,
    group_id: int | None = None,
    special_group_id: int | None = None,
    mine: bool = False,
    covering: bool = False,
    q: str | None = None,
    limit: int | None = None,
    after: str | None = None,
    register: bool = False,
) -> Page[Client]:
    """Visible clients by customer number. ``register`` (admins, and the command line:
    ``principal`` None) lists every client's register entry without opening any timeline."""
    if register:
        require_admin_or_server(principal)
    elif principal is None:
        raise PermissionDenied("the command line lists the client register only")
    size = clamp_limit(limit)
    stmt = select(Client).order_by(Client.customer_number).limit(size + 1)
    if principal is not None and not register:
        stmt = scope_clients(stmt, principal, at)
        stmt = stmt.options(
            selectinload(Client.special_groups),
            selectinload(Client.domains),
            selectinload(Client.contacts).selectinload(Contact.emails),
        )
    if status:
        stmt = stmt.where(Client.status == status)
    if group_id is not None:
        stmt = stmt.where(Client.group_id == group_id)
    if special_group_id is not None:
        stmt = stmt.where(
            exists().where(
                client_special_groups.c.client_id == Client.id,
                client_special_groups.c.special_group_id == special_group_id,
            )
        )
    if mine and principal is not None:
        stmt = stmt.where(Client.id.in_(own_client_ids(principal, at)))
    if covering and principal is not None:
        stmt = stmt.where(Client.id.in_(covered_client_ids(principal, at)))
    if q:
        needle = q.strip().casefold()
        stmt = stmt.where(
            or_(
                Client.name_key.contains(needle, autoescape=True),
                Client.business_id.contains(needle, autoescape=True),
            )
        )
    if after:
        stmt = stmt.where(Client.customer_number > decode_cursor(after, {"n": int}, "after")["n"])
    return page_of(list(session.scalars(stmt)), size, lambda c: {"n": c.customer_number})


def describe_client(client: Client, grant: Grant | None) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        business_id=client.business_id,
        status=client.status,
        group_id=client.group_id,
        customer_number=client.customer_number,
        special_group_ids=sorted(g.id for g in client.special_groups),
        domains=[d.domain for d in client.domains],
        contacts=[
            {
                "id": c.id,
                "name": c.name,
                "emails": [e.email for e in c.emails],
                "phone": c.phone,
                "role": c.role,
            }
            for c in client.contacts
        ],
        summary=client.summary,
        access_level=grant.level.label if grant else None,
        access_via=grant.reason if grant else None,
        updated_at=client.updated_at,
    )
