"""Client groups, special groups and responsibility roles: the firm's own vocabularies."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.models import AccessRule
from hub.access.policy import Principal, require_admin_or_server
from hub.clients.models import Client, ClientGroup, Responsibility, Role, SpecialGroup
from hub.clients.schemas import (
    ClientGroupIn,
    ClientGroupPatch,
    RoleIn,
    RolePatch,
    SpecialGroupIn,
    SpecialGroupPatch,
)
from hub.errors import Conflict, NotFound


def _unique_name(
    session: Session, model: type[ClientGroup] | type[SpecialGroup], name: str, own_id: int | None
) -> None:
    clash = session.scalar(select(model.id).where(model.name == name, model.id != (own_id or -1)))
    if clash is not None:
        raise Conflict(f"a group named {name!r} already exists; pick another name")


def list_client_groups(session: Session) -> Sequence[ClientGroup]:
    return list(session.scalars(select(ClientGroup).order_by(ClientGroup.name)))


def get_client_group(session: Session, group_id: int) -> ClientGroup:
    group = session.get(ClientGroup, group_id)
    if group is None:
        raise NotFound(f"no client group with id {group_id}")
    return group


def create_client_group(session: Session, principal: Principal | None,
                        data: ClientGroupIn) -> ClientGroup:
    require_admin_or_server(principal)
    _unique_name(session, ClientGroup, data.name, None)
    group = ClientGroup(name=data.name, starting_customer_number=data.starting_customer_number)
    session.add(group)
    session.flush()
    audit.record_by(session, principal, "client_group.create",
                    detail={"id": group.id, "name": group.name})
    return group


def update_client_group(
    session: Session, principal: Principal | None, group: ClientGroup, patch: ClientGroupPatch
) -> ClientGroup:
    require_admin_or_server(principal)
    if patch.name is not None:
        _unique_name(session, ClientGroup, patch.name, group.id)
        group.name = patch.name
    if patch.starting_customer_number is not None:
        group.starting_customer_number = patch.starting_customer_number
    session.flush()
    audit.record_by(session, principal, "client_group.update", detail={"id": group.id})
    return group


def delete_client_group(session: Session, principal: Principal | None,
                        group: ClientGroup) -> None:
    require_admin_or_server(principal)
    group_id = group.id
    # Its clients return to "no group" (as in Koho); done explicitly so that SQLite
    # without foreign-key enforcement behaves the same as PostgreSQL.
    session.execute(update(Client).where(Client.group_id == group.id).values(group_id=None))
    session.delete(group)
    session.flush()
    audit.record_by(session, principal, "client_group.delete", detail={"id": group_id})


def list_special_groups(session: Session) -> Sequence[SpecialGroup]:
    return list(session.scalars(select(SpecialGroup).order_by(SpecialGroup.name)))


def get_special_group(session: Session, group_id: int) -> SpecialGroup:
    group = session.get(SpecialGroup, group_id)
    if group is None:
        raise NotFound(f"no special group with id {group_id}")
    return group


def create_special_group(session: Session, principal: Principal | None,
                         data: SpecialGroupIn) -> SpecialGroup:
    require_admin_or_server(principal)
    _unique_name(session, SpecialGroup, data.name, None)
    group = SpecialGroup(name=data.name, description=data.description)
    session.add(group)
    session.flush()
    audit.record_by(session, principal, "special_group.create",
                    detail={"id": group.id, "name": group.name})
    return group


def update_special_group(
    session: Session, principal: Principal | None, group: SpecialGroup, patch: SpecialGroupPatch
) -> SpecialGroup:
    require_admin_or_server(principal)
    if patch.name is not None:
        _unique_name(session, SpecialGroup, patch.name, group.id)
        group.name = patch.name
    if patch.description is not None:
        group.description = patch.description
    session.flush()
    audit.record_by(session, principal, "special_group.update", detail={"id": group.id})
    return group


def delete_special_group(session: Session, principal: Principal | None,
                         group: SpecialGroup) -> None:
    require_admin_or_server(principal)
    group_id = group.id
    session.delete(group)
    session.flush()
    audit.record_by(session, principal, "special_group.delete", detail={"id": group_id})


def list_roles(session: Session) -> Sequence[Role]:
    return list(session.scalars(select(Role).order_by(Role.key)))


def get_role(session: Session, key: str) -> Role:
    role = session.get(Role, key)
    if role is None:
        keys = ", ".join(r.key for r in list_roles(session))
        raise NotFound(f"no role {key!r}; the roles are: {keys}")
    return role


def create_role(session: Session, principal: Principal | None, data: RoleIn) -> Role:
    require_admin_or_server(principal)
    if session.get(Role, data.key) is not None:
        raise Conflict(f"role {data.key!r} already exists")
    role = Role(key=data.key, name_fi=data.name_fi, name_en=data.name_en)
    session.add(role)
    session.flush()
    if data.level != "none":
        session.add(AccessRule(subject="role", role=role.key, level=data.level))
        session.flush()
    audit.record_by(session, principal, "role.create",
                    detail={"key": role.key, "level": data.level})
    return role


def update_role(session: Session, principal: Principal | None, role: Role,
                patch: RolePatch) -> Role:
    require_admin_or_server(principal)
    if patch.name_fi is not None:
        role.name_fi = patch.name_fi
    if patch.name_en is not None:
        role.name_en = patch.name_en
    session.flush()
    audit.record_by(session, principal, "role.update", detail={"key": role.key})
    return role


def delete_role(session: Session, principal: Principal | None, role: Role) -> None:
    require_admin_or_server(principal)
    if session.scalar(select(exists().where(Responsibility.role == role.key))):
        raise Conflict(f"role {role.key!r} is held in responsibilities; end or change those first")
    key = role.key
    session.delete(role)
    session.flush()
    audit.record_by(session, principal, "role.delete", detail={"key": key})
