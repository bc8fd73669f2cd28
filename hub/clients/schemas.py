"""API shapes for clients, contacts, groups, roles and responsibilities."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from hub.schemas import In, Instant, Out

Status = Literal["prospect", "active", "archived"]


class ContactIn(In):
    name: str = Field(min_length=1, max_length=200)
    emails: list[EmailStr] = Field(default_factory=list)
    phone: str = ""
    role: str = ""


class ContactOut(Out):
    id: int
    name: str
    emails: list[str]
    phone: str
    role: str


class ClientIn(In):
    name: str = Field(min_length=1, max_length=300)
    business_id: str | None = None
    status: Status = "active"
    group_id: int | None = None
    special_group_ids: list[int] = Field(default_factory=list)
    customer_number: int | None = Field(default=None, ge=1)
    domains: list[str] = Field(default_factory=list)
    contacts: list[ContactIn] = Field(default_factory=list)
    summary: str = ""


class ClientPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    business_id: str | None = None
    status: Status | None = None
    group_id: int | None = None
    special_group_ids: list[int] | None = None
    customer_number: int | None = Field(default=None, ge=1)
    domains: list[str] | None = None
    contacts: list[ContactIn] | None = None
    summary: str | None = None


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
    name: str = Field(min_length=1, max_length=200)
    starting_customer_number: int = Field(default=1000, ge=1)


class ClientGroupPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    starting_customer_number: int | None = Field(default=None, ge=1)


class ClientGroupOut(Out):
    id: int
    name: str
    starting_customer_number: int


class SpecialGroupIn(In):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


class SpecialGroupPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None


class SpecialGroupOut(Out):
    id: int
    name: str
    description: str


class RoleIn(In):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    name_fi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    level: Literal["none", "metadata", "subject", "full"] = Field(
        default="none",
        description="Level of the access rule created with the role; none by default "
        "(deny by default), raise it here or with an access rule.",
    )


class RolePatch(In):
    name_fi: str | None = None
    name_en: str | None = None


class RoleOut(Out):
    key: str
    name_fi: str
    name_en: str


class ResponsibilityIn(In):
    user_id: int
    client_id: int
    role: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class ResponsibilityPatch(In):
    role: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


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
