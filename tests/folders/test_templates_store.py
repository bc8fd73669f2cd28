"""Stored templates: the shipped default seeded, admins' text kept with its notes, the years
in columns of their own, and a client group's template overriding the default."""

from __future__ import annotations

import pytest

from hub.access.policy import Principal
from hub.errors import InvalidInput, NotFound
from hub.folders import templates
from hub.folders.facts import client_facts
from hub.folders.models import FolderSettings
from hub.folders.schemas import TemplateIn
from hub.folders.template import DEFAULT_TEMPLATE, DEFAULT_TEMPLATE_TEXT, expand
from tests import factories as f

SMALL = """\
# A firm that keeps it short.
{customer_number} {client_name}/
  Kirjanpito/{year}/     one per year
  Muut/                  everything else
years: 0 back, 2 ahead
"""


def test_the_shipped_default_is_seeded_by_the_migration(session):
    row = session.get(FolderSettings, 1)
    assert row is not None and row.template_text == DEFAULT_TEMPLATE_TEXT
    assert (row.past_years, row.next_years, row.auto_create) == (1, 1, False)
    shown = templates.describe_default(session)
    assert shown.scope == "default" and shown.inbox == "Asiakkaan aineisto"
    assert shown.folders == [n.to_dict() for n in DEFAULT_TEMPLATE.folders]


def test_a_missing_default_is_seeded_again(session):
    session.delete(session.get(FolderSettings, 1))
    session.flush()
    assert templates.describe_default(session).text == DEFAULT_TEMPLATE_TEXT


def test_the_default_keeps_its_notes_and_takes_years_from_the_text_or_the_request(session):
    admin = f.user(session, admin=True)
    stored = templates.set_default_template(session, Principal.of(admin), TemplateIn(text=SMALL))
    assert (stored.past_years, stored.next_years) == (0, 2)
    assert stored.text == SMALL and stored.updated_by == admin.id
    stored = templates.set_default_template(
        session, Principal.of(admin), TemplateIn(text=SMALL, past_years=3, next_years=1))
    assert stored.text.endswith("  Muut/                  everything else\nyears: 3 back, "
                                "1 ahead\n")
    assert "# A firm that keeps it short." in stored.text
    book = templates.template_book(session)
    assert (book.default.past_years, book.default.next_years) == (3, 1)


def test_a_template_that_cannot_be_read_is_refused_with_the_line(session):
    with pytest.raises(InvalidInput, match="line 2") as refused:
        templates.set_default_template(session, None,
                                       TemplateIn(text="{client_name}/\n\tA/\n"))
    assert refused.value.field == "text"
    assert templates.describe_default(session).text == DEFAULT_TEMPLATE_TEXT


def test_a_group_template_overrides_the_default_for_its_clients_only(session):
    group, elsewhere = f.group(session), f.group(session)
    inside, outside = f.client(session, group=group), f.client(session, group=elsewhere)
    assert templates.describe_group(session, group.id).scope == "default"
    stored = templates.set_group_template(session, None, group.id, TemplateIn(text=SMALL))
    assert (stored.scope, stored.client_group_name) == (str(group.id), group.name)
    book = templates.template_book(session)
    assert expand(book.for_client(inside), client_facts(inside), 2026) == [
        "Kirjanpito", "Kirjanpito/2026", "Kirjanpito/2027", "Kirjanpito/2028", "Muut"]
    assert book.for_client(outside) == DEFAULT_TEMPLATE
    assert [t.scope for t in templates.list_templates(session)] == ["default", str(group.id)]
    templates.delete_group_template(session, None, group.id)
    assert templates.template_book(session).for_client(inside) == DEFAULT_TEMPLATE
    with pytest.raises(NotFound, match="follows the default"):
        templates.delete_group_template(session, None, group.id)
    with pytest.raises(NotFound, match="no client group"):
        templates.set_group_template(session, None, 999_999, TemplateIn(text=SMALL))


def test_deleting_a_group_deletes_its_template(session):
    group = f.group(session)
    templates.set_group_template(session, None, group.id, TemplateIn(text=SMALL))
    session.commit()
    session.delete(group)
    session.commit()
    assert [t.scope for t in templates.list_templates(session)] == ["default"]
