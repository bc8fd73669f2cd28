"""The firm's folder templates as stored: one default and optional ones per client group.

A client follows its group's template if the group has one, else the default. Templates
are stored in the text format admins write (comments and notes kept), with the fiscal
years back and ahead in columns of their own; the text's ``years:`` line is rewritten to
agree with them, so what an admin reads back is what is enforced. The shipped Finnish
default is seeded by the migration, and seeded again here should the row ever be missing.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access import audit
from hub.access.policy import Principal, require_admin_or_server
from hub.clients.models import Client, ClientGroup
from hub.db import utcnow
from hub.errors import InvalidInput, NotFound
from hub.folders.models import FolderSettings, GroupFolderTemplate
from hub.folders.schemas import FolderSettingsIn, TemplateIn, TemplateOut
from hub.folders.template import (
    DEFAULT_TEMPLATE,
    DEFAULT_TEMPLATE_TEXT,
    FolderTemplate,
    TemplateError,
    parse_template,
)

DEFAULT_SCOPE = "default"
_YEARS_LINE = re.compile(r"^years:.*$")


def folder_settings(session: Session) -> FolderSettings:
    row = session.get(FolderSettings, 1)
    if row is None:
        row = FolderSettings(id=1, template_text=DEFAULT_TEMPLATE_TEXT,
                             past_years=DEFAULT_TEMPLATE.past_years,
                             next_years=DEFAULT_TEMPLATE.next_years, auto_create=False,
                             year_lead_days=31, updated_at=utcnow())
        session.add(row)
        session.flush()
    return row


def update_folder_settings(session: Session, principal: Principal | None,
                           data: FolderSettingsIn) -> FolderSettings:
    """``principal`` None is the command line on the server (as below)."""
    require_admin_or_server(principal)
    row = folder_settings(session)
    if data.auto_create is not None:
        row.auto_create = data.auto_create
    if data.year_lead_days is not None:
        row.year_lead_days = data.year_lead_days
    row.updated_by, row.updated_at = _actor(principal), utcnow()
    session.flush()
    audit.record_by(session, principal, "folders.settings_set",
                    detail=data.model_dump(exclude_none=True))
    return row


def _actor(principal: Principal | None) -> int | None:
    return principal.user_id if principal is not None else None


def load(text: str, past_years: int, next_years: int) -> FolderTemplate:
    return dataclasses.replace(parse_template(text), past_years=past_years,
                               next_years=next_years)


def with_years(text: str, past_years: int, next_years: int) -> str:
    """``text`` with its top-level ``years:`` line replaced by one for these numbers."""
    kept = [line for line in text.rstrip().splitlines() if not _YEARS_LINE.match(line)]
    return "\n".join([*kept, f"years: {past_years} back, {next_years} ahead"]) + "\n"


def _parsed(data: TemplateIn) -> tuple[str, int, int]:
    try:
        template = parse_template(data.text)
    except TemplateError as exc:
        raise InvalidInput(f"the template cannot be read: {exc}", field="text") from exc
    past = template.past_years if data.past_years is None else data.past_years
    ahead = template.next_years if data.next_years is None else data.next_years
    return with_years(data.text, past, ahead), past, ahead


@dataclass(frozen=True, slots=True)
class TemplateBook:
    """Every template in force, read once for a whole check."""

    default: FolderTemplate
    by_group: dict[int, FolderTemplate]

    def for_client(self, client: Client) -> FolderTemplate:
        if client.group_id is not None and client.group_id in self.by_group:
            return self.by_group[client.group_id]
        return self.default


def template_book(session: Session) -> TemplateBook:
    row = folder_settings(session)
    groups = {g.client_group_id: load(g.template_text, g.past_years, g.next_years)
              for g in session.scalars(select(GroupFolderTemplate))}
    return TemplateBook(load(row.template_text, row.past_years, row.next_years), groups)


def _describe(scope: str, text: str, past: int, ahead: int, updated_by: int | None,
              updated_at: datetime | None, group: ClientGroup | None = None) -> TemplateOut:
    template = load(text, past, ahead)
    return TemplateOut.model_validate({
        "scope": scope, "client_group_id": group.id if group else None,
        "client_group_name": group.name if group else None, "text": text,
        "past_years": past, "next_years": ahead, "root_pattern": template.root_pattern,
        "inbox": template.inbox, "folders": [n.to_dict() for n in template.folders],
        "updated_by": updated_by, "updated_at": updated_at})


def _group(session: Session, group_id: int) -> ClientGroup:
    group = session.get(ClientGroup, group_id)
    if group is None:
        raise NotFound(f"no client group with id {group_id}; see GET /api/v1/client-groups")
    return group


def describe_default(session: Session) -> TemplateOut:
    row = folder_settings(session)
    return _describe(DEFAULT_SCOPE, row.template_text, row.past_years, row.next_years,
                     row.updated_by, row.updated_at)


def describe_group(session: Session, group_id: int) -> TemplateOut:
    """The group's own template, or the default it follows (``scope`` says which)."""
    group = _group(session, group_id)
    row = session.get(GroupFolderTemplate, group_id)
    if row is None:
        return describe_default(session)
    return _describe(str(group_id), row.template_text, row.past_years, row.next_years,
                     row.updated_by, row.updated_at, group)


def list_templates(session: Session) -> list[TemplateOut]:
    """The default first, then each group's own template by group name."""
    rows = session.execute(
        select(GroupFolderTemplate, ClientGroup)
        .join(ClientGroup, ClientGroup.id == GroupFolderTemplate.client_group_id)
        .order_by(ClientGroup.name))
    return [describe_default(session)] + [
        _describe(str(g.id), t.template_text, t.past_years, t.next_years, t.updated_by,
                  t.updated_at, g) for t, g in rows]


def set_default_template(session: Session, principal: Principal | None,
                         data: TemplateIn) -> TemplateOut:
    require_admin_or_server(principal)
    text, past, ahead = _parsed(data)
    row = folder_settings(session)
    row.template_text, row.past_years, row.next_years = text, past, ahead
    row.updated_by, row.updated_at = _actor(principal), utcnow()
    session.flush()
    audit.record_by(session, principal, "folders.template_set",
                    detail={"scope": DEFAULT_SCOPE})
    return describe_default(session)


def set_group_template(session: Session, principal: Principal | None, group_id: int,
                       data: TemplateIn) -> TemplateOut:
    require_admin_or_server(principal)
    _group(session, group_id)
    text, past, ahead = _parsed(data)
    row = session.get(GroupFolderTemplate, group_id)
    if row is None:
        row = GroupFolderTemplate(client_group_id=group_id)
        session.add(row)
    row.template_text, row.past_years, row.next_years = text, past, ahead
    row.updated_by, row.updated_at = _actor(principal), utcnow()
    session.flush()
    audit.record_by(session, principal, "folders.template_set",
                    detail={"scope": str(group_id)})
    return describe_group(session, group_id)


def delete_group_template(session: Session, principal: Principal | None,
                          group_id: int) -> None:
    """The group's clients follow the default again."""
    require_admin_or_server(principal)
    _group(session, group_id)
    row = session.get(GroupFolderTemplate, group_id)
    if row is None:
        raise NotFound(f"client group {group_id} has no template of its own; it follows "
                       "the default")
    session.delete(row)
    session.flush()
    audit.record_by(session, principal, "folders.template_delete",
                    detail={"scope": str(group_id)})


__all__ = ["DEFAULT_SCOPE", "TemplateBook", "delete_group_template", "describe_default",
           "describe_group", "folder_settings", "list_templates", "load",
           "set_default_template", "set_group_template", "template_book",
           "update_folder_settings", "with_years"]
