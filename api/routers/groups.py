"""Client groups, special groups and roles (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, SessionDep
from hub.clients import groups
from hub.clients.schemas import (
    ClientGroupIn,
    ClientGroupOut,
    ClientGroupPatch,
    RoleIn,
    RoleOut,
    RolePatch,
    SpecialGroupIn,
    SpecialGroupOut,
    SpecialGroupPatch,
)
from hub.schemas import IdParam, ListPage, Word

router = APIRouter(tags=["admin: groups and roles"])


@router.get("/client-groups", response_model=ListPage[ClientGroupOut])
def list_client_groups(_: AdminDep, session: SessionDep) -> ListPage[ClientGroupOut]:
    rows = groups.list_client_groups(session)
    return ListPage(items=[ClientGroupOut.model_validate(g) for g in rows])


@router.post("/client-groups", response_model=ClientGroupOut, status_code=201)
def create_client_group(body: ClientGroupIn, p: AdminDep, session: SessionDep) -> ClientGroupOut:
    group = groups.create_client_group(session, p, body)
    return ClientGroupOut.model_validate(group)


@router.get("/client-groups/{group_id}", response_model=ClientGroupOut)
def get_client_group(group_id: IdParam, _: AdminDep, session: SessionDep) -> ClientGroupOut:
    return ClientGroupOut.model_validate(groups.get_client_group(session, group_id))


@router.patch("/client-groups/{group_id}", response_model=ClientGroupOut)
def update_client_group(
    group_id: IdParam, body: ClientGroupPatch, p: AdminDep, session: SessionDep
) -> ClientGroupOut:
    group = groups.update_client_group(session, p, groups.get_client_group(session, group_id), body)
    return ClientGroupOut.model_validate(group)


@router.delete("/client-groups/{group_id}", status_code=204)
def delete_client_group(group_id: IdParam, p: AdminDep, session: SessionDep) -> None:
    """Its clients return to no group."""
    groups.delete_client_group(session, p, groups.get_client_group(session, group_id))


@router.get("/special-groups", response_model=ListPage[SpecialGroupOut])
def list_special_groups(_: AdminDep, session: SessionDep) -> ListPage[SpecialGroupOut]:
    rows = groups.list_special_groups(session)
    return ListPage(items=[SpecialGroupOut.model_validate(g) for g in rows])


@router.post("/special-groups", response_model=SpecialGroupOut, status_code=201)
def create_special_group(body: SpecialGroupIn, p: AdminDep, session: SessionDep) -> SpecialGroupOut:
    group = groups.create_special_group(session, p, body)
    return SpecialGroupOut.model_validate(group)


@router.get("/special-groups/{group_id}", response_model=SpecialGroupOut)
def get_special_group(group_id: IdParam, _: AdminDep, session: SessionDep) -> SpecialGroupOut:
    return SpecialGroupOut.model_validate(groups.get_special_group(session, group_id))


@router.patch("/special-groups/{group_id}", response_model=SpecialGroupOut)
def update_special_group(
    group_id: IdParam, body: SpecialGroupPatch, p: AdminDep, session: SessionDep
) -> SpecialGroupOut:
    group = groups.get_special_group(session, group_id)
    group = groups.update_special_group(session, p, group, body)
    return SpecialGroupOut.model_validate(group)


@router.delete("/special-groups/{group_id}", status_code=204)
def delete_special_group(group_id: IdParam, p: AdminDep, session: SessionDep) -> None:
    groups.delete_special_group(session, p, groups.get_special_group(session, group_id))


@router.get("/roles", response_model=ListPage[RoleOut])
def list_roles(_: AdminDep, session: SessionDep) -> ListPage[RoleOut]:
    return ListPage(items=[RoleOut.model_validate(r) for r in groups.list_roles(session)])


@router.post("/roles", response_model=RoleOut, status_code=201)
def create_role(body: RoleIn, p: AdminDep, session: SessionDep) -> RoleOut:
    role = groups.create_role(session, p, body)
    return RoleOut.model_validate(role)


@router.patch("/roles/{key}", response_model=RoleOut)
def update_role(key: Word, body: RolePatch, p: AdminDep, session: SessionDep) -> RoleOut:
    role = groups.update_role(session, p, groups.get_role(session, key), body)
    return RoleOut.model_validate(role)


@router.delete("/roles/{key}", status_code=204)
def delete_role(key: Word, p: AdminDep, session: SessionDep) -> None:
    groups.delete_role(session, p, groups.get_role(session, key))
