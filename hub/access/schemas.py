"""API shapes for covers, access rules and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from hub.schemas import In, Instant, Out

LevelName = Literal["none", "metadata", "subject", "full"]


class CoverIn(In):
    absent_user_id: int
    covering_user_id: int
    valid_from: datetime
    valid_until: datetime
    client_ids: list[int] | None = Field(
        default=None, description="Narrow the cover to these clients; omit for all of them."
    )
    note: str = ""


class CoverPatch(In):
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    client_ids: list[int] | None = None
    note: str | None = None


class CoverOut(Out):
    id: int
    absent_user_id: int
    covering_user_id: int
    valid_from: Instant
    valid_until: Instant
    client_ids: list[int] | None
    note: str
    state: Literal["scheduled", "running", "ended"]


class AccessRuleIn(In):
    subject: Literal["role", "admin", "staff"]
    role: str | None = None
    client_group_id: int | None = None
    special_group_id: int | None = None
    level: LevelName


class AccessRulePatch(In):
    level: LevelName | None = None
    client_group_id: int | None = None
    special_group_id: int | None = None


class AccessRuleOut(Out):
    id: int
    subject: str
    role: str | None
    client_group_id: int | None
    special_group_id: int | None
    level: str


class AuditOut(Out):
    id: int
    at: Instant
    actor_user_id: int | None
    action: str
    client_id: int | None
    entry_id: int | None
    grant: str
    detail: dict[str, Any]
    hash: str
