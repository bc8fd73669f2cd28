"""API shapes for clients, contacts, groups, roles and responsibilities."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field

from hub.schemas import LONG_TEXT, Id, In, Instant, Moment, Number, Out, Text

Status = Literal["prospect", "active", "archived"]


#: Lengths are the columns' (hub/clients/models.py).
Email = Annotated[EmailStr, Text(320)]
BusinessId = Annotated[str, Text(20)]  # normalised to 9 characters by the service
Domain = Annotated[str, Text(253)]
RoleKey = Annotated[str, Text(64)]
RoleName = Annotated[str, Text(200, min_length=1)]


class ContactIn(In):
    name: Annotated[str, Text(200, min_length=1)]
    emails: list[Email] = Field(default_factory=list, max_length=20)
    phone: Annotated[str, Text(50)] = ""
    role: Annotated[str, Text(200)] = ""


class ContactOut(Out):
    id: int
    name: str
    emails: list[str]
    phone: str
    role: str


class ClientIn(In):
    name: Annotated[str, Text(300, min_length=1)]
    business_id: BusinessId | None = None
    status: Status = "active"
    group_id: Id | None = None
    special_group_ids: list[Id] = Field(default_factory=list, max_length=100)
    customer_number: Number | None = None
    domains: list[Domain] = Field(default_factory=list, max_length=50)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=200)
    summary: Annotated[str, Text(LONG_TEXT, multiline=True)] = ""


class ClientPatch(In):
    name: Annotated[str, Text(300, min_length=1)] | None = None
    business_id: BusinessId | None = None
    status: Status | None = None
    group_id: Id | None = None
    special_group_ids: list[Id] | None = Field(default=None, max_length=100)
    customer_number: Number | None = None
    domains: list[Domain] | None = Field(default=None, max_length=50)
    contacts: list[ContactIn] | None = Field(default=None, max_length=200)
    summary: Annotated[str, Text(LONG_TEXT, multiline=True)] | None = None


class ClientRegisterOut(Out):
    """What an admin sees of any client when managing the register and access."""

    id: int
    name: str
    business_id: str | None
    status: str
    group_id: int | None
    customer_number: int


class ClientOut(ClientRegisterOut):
    special_group_ids: list[int]
    domains: list[str]
    contacts: list[ContactOut]
    summary: str
    access_level: str | None = None
    access_via: str | None = None
    updated_at: Instant


class ClientGroupIn(In):
    name: Annotated[str, Text(200, min_length=1)]
    starting_customer_number: Number = 1000


class ClientGroupPatch(In):
    name: Annotated[str, Text(200, min_length=1)] | None = None
    starting_customer_number: Number | None = None


class ClientGroupOut(Out):
    id: int
    name: str
    starting_customer_number: int


class SpecialGroupIn(In):
    name: Annotated[str, Text(200, min_length=1)]
    description: Annotated[str, Text(LONG_TEXT, multiline=True)] = ""


class SpecialGroupPatch(In):
    name: Annotated[str, Text(200, min_length=1)] | None = None
    description: Annotated[str, Text(LONG_TEXT, multiline=True)] | None = None


class SpecialGroupOut(Out):
    id: int
    name: str
    description: str


class RoleIn(In):
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$"), Text(64)]
    name_fi: RoleName
    name_en: RoleName
    level: Literal["none", "metadata", "subject", "full"] = Field(
        default="none",
        description="Level of the access rule created with the role; none by default "
        "(deny by default), raise it here or with an access rule.",
    )


class RolePatch(In):
    name_fi: RoleName | None = None
    name_en: RoleName | None = None


class RoleOut(Out):
    key: str
    name_fi: str
    name_en: str


class ResponsibilityIn(In):
    user_id: Id
    client_id: Id
    role: RoleKey
    valid_from: Moment | None = None
    valid_until: Moment | None = None


class ResponsibilityPatch(In):
    role: RoleKey | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None


class ResponsibilityOut(Out):
    id: int
    user_id: int
    client_id: int
    role: str
    valid_from: Instant | None
    valid_until: Instant | None
    user_name: str | None = None
    user_email: str | None = None
    client_name: str | None = None
    client_group_id: int | None = None
