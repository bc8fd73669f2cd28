"""Folder templates: the Finnish default, the text and dict formats, expansion for a client
(fiscal years, the payroll condition), and the name matching that finds a client's root."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.folders.template import (
    DEFAULT_TEMPLATE,
    FolderNode,
    FolderTemplate,
    TemplateError,
    expand,
    format_template,
    parse_template,
)
from hub.naming import (
    ClientFacts,
    business_ids_in,
    fold,
    loose,
    match_root,
    root_name,
    safe_folder_name,
)

PAYROLL = ClientFacts(1001, "Oy Esimerkki Ab", "1234567-1", frozenset({"payroll"}))
PLAIN = ClientFacts(1002, "Äänekosken Öljy Oy", "7654321-2")

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöåABCÄÖ ", min_size=1, max_size=12) \
    .filter(lambda name: safe_folder_name(name) == name)


@st.composite
def node_lists(draw: st.DrawFn, depth: int = 0) -> tuple[FolderNode, ...]:
    names = draw(st.lists(NAMES, min_size=1 if depth == 0 else 0, max_size=5 - depth,
                          unique_by=loose))
    return tuple(
        FolderNode(name, draw(node_lists(depth + 1)) if depth < 2 else (),
                   per_year=draw(st.booleans()),
                   condition=draw(st.sampled_from([None, "payroll", "vat"])))
        for name in names)


@st.composite
def templates(draw: st.DrawFn) -> FolderTemplate:
    folders = draw(node_lists())
    return FolderTemplate(folders, past_years=draw(st.integers(0, 3)),
                          next_years=draw(st.integers(0, 2)),
                          inbox=draw(st.sampled_from([None, *(n.name for n in folders)])))


def test_the_default_is_the_finnish_template_of_the_domain() -> None:
    assert [(n.name, n.per_year, n.condition) for n in DEFAULT_TEMPLATE.folders] == [
        ("Kirjanpito", True, None), ("Tilinpäätös", True, None),
        ("Palkanlaskenta", True, "payroll"), ("Verottaja", False, None),
        ("Sopimukset", False, None), ("Valtakirjat", False, None),
        ("Asiakkaan aineisto", False, None)]
    assert DEFAULT_TEMPLATE.root_pattern == "{customer_number} {client_name}"
    assert DEFAULT_TEMPLATE.inbox == "Asiakkaan aineisto"
    assert DEFAULT_TEMPLATE.root_name(PAYROLL) == "1001 Oy Esimerkki Ab"


def test_expansion_has_the_fiscal_years_and_payroll_only_with_the_flag() -> None:
    years = ["2025", "2026", "2027"]
    assert expand(DEFAULT_TEMPLATE, PAYROLL, 2026) == [
        "Kirjanpito", *(f"Kirjanpito/{y}" for y in years),
        "Tilinpäätös", *(f"Tilinpäätös/{y}" for y in years),
        "Palkanlaskenta", *(f"Palkanlaskenta/{y}" for y in years),
        "Verottaja", "Sopimukset", "Valtakirjat", "Asiakkaan aineisto"]
    plain = expand(DEFAULT_TEMPLATE, PLAIN, 2026)
    assert not any(p.startswith("Palkanlaskenta") for p in plain)
    assert len(plain) == 12
    # The flag is matched like a name: a card saying "Payroll" gets the folder too.
    shouting = ClientFacts(1003, "Iso Oy", flags=frozenset({"PAYROLL"}))
    assert "Palkanlaskenta/2026" in expand(DEFAULT_TEMPLATE, shouting, 2026)


def test_year_window_and_children_under_every_year() -> None:
    template = parse_template("""\
{customer_number} {client_name}/
  Kirjanpito/{year}/
    Tositteet/
    Pankki/Tiliotteet/     a chain on one line nests
  Muut/
years: 2 back, 0 ahead
""")
    assert expand(template, PLAIN, 2026) == [
        "Kirjanpito",
        "Kirjanpito/2024", "Kirjanpito/2024/Tositteet", "Kirjanpito/2024/Pankki",
        "Kirjanpito/2024/Pankki/Tiliotteet",
        "Kirjanpito/2025", "Kirjanpito/2025/Tositteet", "Kirjanpito/2025/Pankki",
        "Kirjanpito/2025/Pankki/Tiliotteet",
        "Kirjanpito/2026", "Kirjanpito/2026/Tositteet", "Kirjanpito/2026/Pankki",
        "Kirjanpito/2026/Pankki/Tiliotteet",
        "Muut"]


def test_text_and_dict_formats_round_trip() -> None:
    assert parse_template(format_template(DEFAULT_TEMPLATE)) == DEFAULT_TEMPLATE
    data = json.loads(json.dumps(DEFAULT_TEMPLATE.to_dict()))
    assert FolderTemplate.from_dict(data) == DEFAULT_TEMPLATE


@given(templates())
def test_any_template_round_trips(template: FolderTemplate) -> None:
    assert parse_template(format_template(template)) == template
    assert FolderTemplate.from_dict(json.loads(json.dumps(template.to_dict()))) == template


def test_decomposed_names_in_the_text_are_composed() -> None:
    text = unicodedata.normalize("NFD", "{customer_number} {client_name}/\n  Tilinpäätös/\n")
    assert parse_template(text).folders[0].name == "Tilinpäätös"


@pytest.mark.parametrize(("text", "message"), [
    ("", "the template is empty"),
    ("{customer_number} {client_name}/\nKirjanpito/\n", "indented under the root"),
    ("{customer_number} {client_name}/\n\tKirjanpito/\n", "spaces, not tabs"),
    ("{customer_number} {client_name}/\n  Kirjanpito\n", "ends its path with '/'"),
    ("{customer_number} {client_name}/\n  {year}/\n", "must follow a folder name"),
    ("{customer_number} {client_name}/\n  Tilinpäätös/\n  tilinpaatos/\n", "keep one"),
    ("{customer_number} {client_name}/\n  A/  [payroll] [vat]\n", "one condition"),
    ("Asiakkaat/\n  Kirjanpito/\n", "root pattern must contain"),
    ("{customer_number} {client_name}/\n  Kirja:pito/\n", "cannot be a folder name"),
])
def test_malformed_templates_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_template(text)


def test_a_dict_inbox_must_be_a_top_level_folder() -> None:
    with pytest.raises(TemplateError, match="must be a top-level folder"):
        FolderTemplate.from_dict({"folders": [{"name": "A"}], "inbox": "B"})
    with pytest.raises(TemplateError, match="needs a list of folders"):
        FolderTemplate.from_dict({})


def test_names_fold_case_spacing_and_finnish_letters() -> None:
    assert fold("  Asiakkaan   AINEISTO ") == "asiakkaan aineisto"
    assert loose("Tilinpäätös") == loose("TILINPAATOS") == "tilinpaatos"
    assert loose(unicodedata.normalize("NFD", "Tilinpäätös")) == "tilinpaatos"
    assert loose("Asiakkaan_aineisto") == loose("asiakkaan-aineisto") == "asiakkaan aineisto"
    assert fold("Tilinpäätös") != fold("Tilinpaatos")


def test_root_names_are_safe_folder_names() -> None:
    client = ClientFacts(1004, "Parturi/Kampaamo Ässä Oy.")
    assert root_name(client) == "1004 Parturi-Kampaamo Ässä Oy"
    pattern = "{customer_number} {client_name} ({business_id})"
    assert root_name(PAYROLL, pattern) == "1001 Oy Esimerkki Ab (1234567-1)"


CLIENTS = [PAYROLL, PLAIN, ClientFacts(1005, "Esimerkki Oy", "2345678-0")]


@pytest.mark.parametrize("folder", [
    "1002 Äänekosken Öljy Oy", "1002 äänekosken öljy oy", "1002  Äänekosken   Öljy Oy ",
    "1002 Aanekosken Oljy Oy", "1002_Äänekosken_Öljy_Oy",
    unicodedata.normalize("NFD", "1002 Äänekosken Öljy Oy"),
])
def test_match_root_by_pattern(folder: str) -> None:
    found = match_root(folder, CLIENTS)
    assert found is not None and found.client == PLAIN and found.by == "pattern"


@pytest.mark.parametrize("folder", ["Äänekosken Öljy 7654321-2", "ÖLJY (7654321 - 2)",
                                    "7654321-2"])
def test_match_root_by_business_id(folder: str) -> None:
    found = match_root(folder, CLIENTS)
    assert found is not None and found.client == PLAIN and found.by == "business_id"


@pytest.mark.parametrize("folder", [
    "1002 Äänekosken Öljy", "Äänekosken Öljy Oy", "Kirjanpito", "2026",
    "17654321-2 ", "9999999-9 Tuntematon", "7654321-2 ja 2345678-0",
])
def test_match_root_refuses_to_guess(folder: str) -> None:
    assert match_root(folder, CLIENTS) is None


def test_two_ids_of_one_client_are_no_conflict() -> None:
    assert business_ids_in("7654321-2 ja 7654321-2 kopio") == {"7654321-2"}
    found = match_root("7654321-2 ja 7654321-2 kopio", CLIENTS)
    assert found is not None and found.client == PLAIN
