"""API shapes for folder templates, drift findings and the actions that fix them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from hub.folders.template import MAX_NEXT_YEARS, MAX_PAST_YEARS
from hub.schemas import Id, In, Instant, Out, Text


class TemplateIn(In):
    #: The indented text format (see hub.folders.template); a ``years:`` line in it is
    #: used unless past_years / next_years are given.
    text: Annotated[str, Text(20_000, min_length=1, multiline=True)]
    past_years: int | None = Field(default=None, ge=0, le=MAX_PAST_YEARS, strict=True)
    next_years: int | None = Field(default=None, ge=0, le=MAX_NEXT_YEARS, strict=True)


class TemplateOut(Out):
    #: "default", or the client group's id.
    scope: str
    client_group_id: int | None = None
    client_group_name: str | None = None
    text: str
    past_years: int
    next_years: int
    root_pattern: str
    inbox: str | None
    folders: list[dict[str, Any]]
    updated_by: int | None = None
    updated_at: Instant | None = None


class FolderSettingsIn(In):
    auto_create: bool | None = None
    year_lead_days: int | None = Field(default=None, ge=0, le=180, strict=True)


class FolderSettingsOut(Out):
    auto_create: bool
    year_lead_days: int
    updated_by: int | None
    updated_at: Instant


class FindingOut(Out):
    kind: str
    path: str
    proposed: str | None
    target_exists: bool
    other_client_number: str | None = None
    detail: str


class ClientDriftOut(Out):
    account_id: int
    client_id: int
    customer_number: int
    client_name: str
    root: str
    year: int
    findings: list[FindingOut]


class ActionOut(Out):
    id: int
    account_id: int
    client_id: int
    target_client_id: int | None
    seq: int
    kind: str
    path: str
    target: str | None
    is_folder: bool
    finding: str
    detail: str
    status: str
    automatic: bool
    created_at: Instant
    approved_by: int | None
    approved_at: Instant | None
    applied_by: int | None
    applied_at: Instant | None
    result: str
    changed_drive: bool
    error: str
    retryable: bool
    undone_by: int | None
    undone_at: Instant | None


class PlanIn(In):
    account_id: Id | None = None
    client_id: Id | None = None


class PlanOut(Out):
    year: int
    created: int
    kept: int
    stale: int
    #: Findings no action can fix; they need a person (merges, unexpected folders).
    by_hand: int
    actions: list[ActionOut]


class ApplyIn(In):
    account_id: Id | None = None
    #: Only these actions (each must be approved); all approved ones when left out.
    action_ids: list[Id] | None = Field(default=None, max_length=10_000)


class ApplyOut(Out):
    applied: int
    failed: int
    #: Left for later because an earlier action of the same client folder failed.
    skipped: int
    actions: list[ActionOut]


class ClientTreeIn(In):
    client_id: Id
    account_id: Id


ActionStatus = Literal["proposed", "approved", "applying", "applied", "failed", "stale",
                       "undoing", "undone"]
