"""API shapes for covers, access rules and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from hub.schemas import Id, In, Instant, Moment, Out, Text

LevelName = Literal["none", "metadata", "subject", "full"]


#: The column's length (hub/access/models.py).
Note = Annotated[str, Text(500, multiline=True)]
#: A cover narrowed to more clients than this is better left for all of them.
MAX_COVER_CLIENTS = 1000


class CoverIn(In):
    absent_user_id: Id
    covering_user_id: Id
    valid_from: Moment
    valid_until: Moment
    client_ids: list[Id] | None = Field(
        default=None, max_length=MAX_COVER_CLIENTS,
        description="Narrow the cover to these clients; omit for all of them."
    )
    note: Note = ""


class CoverPatch(In):
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    client_ids: list[Id] | None = Field(default=None, max_length=MAX_COVER_CLIENTS)
    note: Note | None = None


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
    role: Annotated[str, Text(64)] | None = None
    client_group_id: Id | None = None
    special_group_id: Id | None = None
    level: LevelName


class AccessRulePatch(In):
    level: LevelName | None = None
    client_group_id: Id | None = None
    special_group_id: Id | None = None


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
