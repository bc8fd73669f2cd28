"""Drift from the folder template: a deliberately messy client folder yields every kind of
finding exactly; the plan creates freely, asks before renaming or moving and never deletes;
and a folder built from the template, however its entries are listed, shows no drift."""

from __future__ import annotations

import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from hub.folders.drift import Action, DriftFinding, drift_for, find_drift, plan
from hub.folders.template import DEFAULT_TEMPLATE, FolderTemplate, expand
from hub.naming import ClientFacts
from tests.folders.test_template import templates

ME = ClientFacts(1001, "Oy Esimerkki Ab", "1234567-1", frozenset({"payroll"}))
OTHER = ClientFacts(1002, "Toinen Oy")
THIRD = ClientFacts(1003, "Kolmas Oy", "7654321-2")
CLIENTS = [ME, OTHER, THIRD]

MESSY = [
    "Kirjanpito/2025/tosite.pdf", "Kirjanpito/2026/",
    "kirjanpito 2027/tosite.pdf",          # the year folded into the name
    "Tilinpaatos/2025/tase.pdf",           # dotless Finnish letters
    "Tilinpäätös_2024/",                   # folded year, parent misnamed as above
    "Verottaja/", "Verottaja/2025/Päätökset/",  # the client's own subfolders are fine
    "VEROTTAJA/",                          # a second, differently written copy
    "Sopimukset/Toimeksiantosopimus.pdf", "Sopimukset/1002 Toinen Oy/sopimus.pdf",
    "valtakirjat/",
    "Asiakkaan aineisto/kuitit.pdf",
    "Vanhat paperit/",
    "Kolmas 7654321-2/",
    "lasku.pdf", "Muistio.txt",
]

#: What :data:`MESSY` yields against the default template in 2026, in report order.
MESSY_FINDINGS = [
    ("foreign_client_folder", "Kolmas 7654321-2", None, False),
    ("loose_file", "Muistio.txt", "Asiakkaan aineisto/Muistio.txt", False),
    ("missing_folder", "Palkanlaskenta", None, False),
    ("missing_folder", "Palkanlaskenta/2025", None, False),
    ("missing_folder", "Palkanlaskenta/2026", None, False),
    ("missing_folder", "Palkanlaskenta/2027", None, False),
    ("foreign_client_folder", "Sopimukset/1002 Toinen Oy", None, False),
    ("misnamed_folder", "Tilinpaatos", "Tilinpäätös", False),
    ("missing_folder", "Tilinpaatos/2026", None, False),
    ("missing_folder", "Tilinpaatos/2027", None, False),
    ("misnamed_folder", "Tilinpäätös_2024", "Tilinpaatos/2024", False),
    ("misnamed_folder", "VEROTTAJA", "Verottaja", True),
    ("unexpected_folder", "Vanhat paperit", None, False),
    # Moved in place of the missing Kirjanpito/2027, which is therefore not reported.
    ("misnamed_folder", "kirjanpito 2027", "Kirjanpito/2027", False),
    ("loose_file", "lasku.pdf", "Asiakkaan aineisto/lasku.pdf", False),
    ("misnamed_folder", "valtakirjat", "Valtakirjat", False),
]


def finding_rows(findings: list[DriftFinding]) -> list[tuple[str, str, str | None, bool]]:
    return [(f.kind, f.path, f.proposed, f.target_exists) for f in findings]


def test_a_messy_client_folder_yields_every_finding_exactly() -> None:
    findings = drift_for(DEFAULT_TEMPLATE, ME, MESSY, 2026, CLIENTS)
    assert finding_rows(findings) == MESSY_FINDINGS
    assert {f.kind for f in findings} == {"missing_folder", "unexpected_folder",
                                          "misnamed_folder", "loose_file",
                                          "foreign_client_folder"}
    foreign = {f.path: f for f in findings if f.kind == "foreign_client_folder"}
    assert foreign["Kolmas 7654321-2"].other_client == THIRD
    assert "business id" in foreign["Kolmas 7654321-2"].detail
    assert foreign["Sopimukset/1002 Toinen Oy"].other_client == OTHER


def test_the_plan_creates_then_moves_then_renames_and_never_deletes() -> None:
    actions = plan(drift_for(DEFAULT_TEMPLATE, ME, MESSY, 2026, CLIENTS))
    rows = [(a.kind, a.path, a.target, a.needs_approval) for a in actions]
    assert rows == [
        ("create", "Palkanlaskenta", None, False),
        ("create", "Palkanlaskenta/2025", None, False),
        ("create", "Palkanlaskenta/2026", None, False),
        ("create", "Palkanlaskenta/2027", None, False),
        ("create", "Tilinpaatos/2026", None, False),
        ("create", "Tilinpaatos/2027", None, False),
        ("move", "Kolmas 7654321-2", "", True),
        ("move", "Muistio.txt", "Asiakkaan aineisto/Muistio.txt", True),
        ("move", "Sopimukset/1002 Toinen Oy", "", True),
        ("move", "Tilinpäätös_2024", "Tilinpaatos/2024", True),
        ("move", "VEROTTAJA", "Verottaja", True),       # merging into the existing one
        ("move", "kirjanpito 2027", "Kirjanpito/2027", True),
        ("move", "lasku.pdf", "Asiakkaan aineisto/lasku.pdf", True),
        ("rename", "Tilinpaatos", "Tilinpäätös", True),
        ("rename", "valtakirjat", "Valtakirjat", True),
    ]
    targets = {a.path: a.target_client for a in actions if a.target_client is not None}
    assert targets == {"Kolmas 7654321-2": THIRD, "Sopimukset/1002 Toinen Oy": OTHER}


def test_renames_run_deepest_first() -> None:
    template_paths = ["Kirjanpito", "Kirjanpito/Tositteet"]
    actions = plan(find_drift(template_paths, ["kirjanpito/tositteet/"]))
    assert [(a.kind, a.path, a.target) for a in actions] == [
        ("rename", "kirjanpito/tositteet", "kirjanpito/Tositteet"),
        ("rename", "kirjanpito", "Kirjanpito")]


def test_a_folded_year_onto_an_existing_year_folder_is_a_merge() -> None:
    findings = drift_for(DEFAULT_TEMPLATE, ME, [*expand_dirs(ME), "Kirjanpito-2026/"], 2026)
    assert finding_rows(findings) == [
        ("misnamed_folder", "Kirjanpito-2026", "Kirjanpito/2026", True)]
    assert [a.kind for a in plan(findings)] == ["move"]


def test_without_the_payroll_flag_payroll_folders_are_unexpected() -> None:
    plain = ClientFacts(1004, "Neljäs Oy")
    findings = drift_for(DEFAULT_TEMPLATE, plain, expand_dirs(ME), 2026)
    assert finding_rows(findings) == [
        ("unexpected_folder", "Palkanlaskenta", None, False)]


def test_decomposed_names_from_a_mac_are_not_drift() -> None:
    entries = [unicodedata.normalize("NFD", e) for e in expand_dirs(ME)]
    assert drift_for(DEFAULT_TEMPLATE, ME, entries, 2026, CLIENTS) == []


def test_old_years_and_the_clients_own_subfolders_are_fine() -> None:
    entries = [*expand_dirs(ME), "Kirjanpito/2019/", "Verottaja/Kirjeet/2020/x.pdf"]
    assert drift_for(DEFAULT_TEMPLATE, ME, entries, 2026, CLIENTS) == []


def test_a_conditional_inbox_the_client_lacks_proposes_nothing() -> None:
    template = FolderTemplate.from_dict({**DEFAULT_TEMPLATE.to_dict(), "inbox": "Palkanlaskenta"})
    plain = ClientFacts(1004, "Neljäs Oy")
    findings = drift_for(template, plain, [*expand_dirs(plain), "x.pdf"], 2026)
    assert finding_rows(findings) == [("loose_file", "x.pdf", None, False)]
    assert plan(findings) == []


def expand_dirs(client: ClientFacts, template: FolderTemplate = DEFAULT_TEMPLATE,
                year: int = 2026) -> list[str]:
    return [f"{p}/" for p in expand(template, client, year)]


NAMES = st.sampled_from(["Kirjanpito", "kirjanpito", "Tilinpaatos", "Tilinpäätös 2026",
                         "1002 Toinen Oy", "Kolmas 7654321-2", "Vanhat", "2026", "Verottaja",
                         "VEROTTAJA", "Asiakkaan aineisto", "x.pdf"])


@given(st.lists(st.lists(NAMES, min_size=1, max_size=3), max_size=12), st.booleans())
def test_no_plan_ever_deletes(paths: list[list[str]], folders: bool) -> None:
    entries = ["/".join(p) + ("/" if folders else "") for p in paths]
    findings = drift_for(DEFAULT_TEMPLATE, ME, entries, 2026, CLIENTS)
    actions: list[Action] = plan(findings)
    assert {a.kind for a in actions} <= {"create", "rename", "move"}
    assert all(a.needs_approval == (a.kind != "create") for a in actions)
    assert len(actions) == sum(1 for f in findings if f.kind != "unexpected_folder"
                               and not (f.kind == "loose_file" and f.proposed is None))


@st.composite
def trees_from_template(draw: st.DrawFn) -> tuple[FolderTemplate, ClientFacts, int, list[str]]:
    template = draw(templates())
    client = ClientFacts(1001, "Oy Esimerkki Ab",
                         flags=frozenset(draw(st.sets(st.sampled_from(["payroll", "vat"])))))
    year = draw(st.integers(2000, 2100))
    required = expand(template, client, year)
    assume(required)
    entries = [f"{p}/" for p in required]
    # What a real folder adds: files and the client's own folders anywhere below the top
    # ("~" never occurs in a template name, so they cannot pass for template folders).
    for n in range(draw(st.integers(0, 6))):
        parent = draw(st.sampled_from(required))
        name = draw(st.sampled_from([f"~oma {n}", f"~liite {n}.pdf", "~2019"]))
        entries.append(f"{parent}/{name}" + ("/" if ".pdf" not in name else ""))
    # Listed in any order, some parents only implied, some names decomposed.
    entries = draw(st.permutations(entries))
    keep = draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    listed = [e for e, k in zip(entries, keep, strict=True)
              if k or not any(o.startswith(e) and o != e for o in entries)]
    if draw(st.booleans()):
        listed = [unicodedata.normalize("NFD", e) for e in listed]
    return template, client, year, listed


@given(trees_from_template())
def test_a_folder_built_from_the_template_has_no_drift(
        case: tuple[FolderTemplate, ClientFacts, int, list[str]]) -> None:
    template, client, year, entries = case
    assert drift_for(template, client, entries, year, [client, OTHER, THIRD]) == []
