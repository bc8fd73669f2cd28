"""How one client's folder differs from its template, and the fixes for it.

:func:`find_drift` compares the required paths (from :func:`hub.folders.template.expand`)
with the entries really in the client root - relative paths, folders ending in ``/`` as the
drive connectors write them - and reports:

``missing_folder``
    a required folder that is not there. Under a misnamed parent it is reported inside the
    parent *as it is named now*, so creating it now and renaming the parent later agree.
``misnamed_folder``
    a folder that is a template folder written differently: case, spacing, dotless Finnish
    letters (``Tilinpaatos``), or a fiscal year folded into the name (``kirjanpito 2026`` for
    ``Kirjanpito/2026``). ``proposed`` is where it belongs; ``target_exists`` says that
    folder is there already, so fixing means merging. Names differing only in Unicode
    normalisation (macOS writes decomposed letters) are the same name, not drift.
``unexpected_folder``
    a top-level folder that is no template folder. Deeper folders are the client's own.
``loose_file``
    a file lying directly in the client root; proposed to go into the template's inbox.
``foreign_client_folder``
    a folder, at any depth, named as another client's root (pattern or business ID).

Every path, ``proposed`` included, names the tree as it stands now. :func:`plan` orders the
fixes so that stays true while they run: creates (parents first, automatic), then moves,
then renames (deepest first); moves and renames wait for a person's approval, and nothing
is ever deleted - a wrong delete loses a client's documents, a wrong create costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hub.folders.template import FolderTemplate, expand
from hub.naming import DEFAULT_ROOT_PATTERN, ClientFacts, RootIndex, loose, nfc

FindingKind = Literal["missing_folder", "unexpected_folder", "misnamed_folder", "loose_file",
                      "foreign_client_folder"]
ActionKind = Literal["create", "rename", "move"]

_YEAR = re.compile(r"^\d{4}$")
_NAME_YEAR = re.compile(r"^(?P<name>.*\D)\s*(?P<year>\d{4})$")
_YEAR_NAME = re.compile(r"^(?P<year>\d{4})\s*(?P<name>\D.*)$")


@dataclass(frozen=True, slots=True)
class DriftFinding:
    kind: FindingKind
    #: Relative to the client root, as the tree stands now (for a missing folder: where
    #: it is to be created).
    path: str
    proposed: str | None = None
    target_exists: bool = False
    #: For ``foreign_client_folder``: the client the folder belongs to.
    other_client: ClientFacts | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    path: str
    #: Relative to the client root; for a move into another client's folder, relative to
    #: *that* client's root ("" is the root itself).
    target: str | None
    needs_approval: bool
    finding: DriftFinding
    target_client: ClientFacts | None = None


@dataclass
class _Required:
    children: dict[str, _Required] = field(default_factory=dict)

    @property
    def per_year(self) -> bool:
        return bool(self.children) and all(_YEAR.match(n) for n in self.children)


@dataclass
class _Actual:
    folders: dict[str, _Actual] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def folder(self, name: str) -> str | None:
        """The folder's name as written here if one is ``name`` up to normalisation."""
        wanted = nfc(name)
        return next((f for f in self.folders if nfc(f) == wanted), None)


def _required_tree(paths: Iterable[str]) -> _Required:
    root = _Required()
    for path in paths:
        node = root
        for part in path.strip("/").split("/"):
            if part:
                node = node.children.setdefault(nfc(part), _Required())
    return root


def _actual_tree(entries: Iterable[str]) -> _Actual:
    root = _Actual()
    for entry in entries:
        parts = [p for p in entry.split("/") if p]
        if not parts:
            continue
        is_folder = entry.endswith("/")
        node = root
        for part in parts if is_folder else parts[:-1]:
            node = node.folders.setdefault(part, _Actual())
        if not is_folder:
            node.files.append(parts[-1])
    return root


def _split_year(name: str) -> tuple[str, str] | None:
    """(loose name, year) of a name with a fiscal year folded in, like ``Kirjanpito_2026``."""
    key = loose(name)
    found = _NAME_YEAR.match(key) or _YEAR_NAME.match(key)
    if not found:
        return None
    return found["name"].strip(), found["year"]


class _Comparison:
    def __init__(self, index: RootIndex, inbox: str | None) -> None:
        self.index = index
        self.inbox = inbox
        self.findings: list[DriftFinding] = []

    def add(self, kind: FindingKind, path: str, detail: str, proposed: str | None = None,
            target_exists: bool = False, other: ClientFacts | None = None) -> None:
        self.findings.append(DriftFinding(kind, path, proposed, target_exists, other, detail))

    def level(self, required: _Required, actual: _Actual, prefix: str,
              covered: frozenset[str] = frozenset()) -> None:
        """Compare one folder's children; ``prefix`` is its path as it stands now."""
        top = prefix == ""
        claimed: dict[str, str] = {}
        for name in required.children:
            found = actual.folder(name)
            if found is not None:
                claimed[name] = found
        rest = sorted(a for a in actual.folders if a not in claimed.values())
        by_loose = {loose(name): name for name in required.children}
        leftovers: list[str] = []
        for name in rest:
            wanted = by_loose.get(loose(name))
            if wanted is None:
                leftovers.append(name)
                continue
            exists = wanted in claimed
            self.add("misnamed_folder", prefix + name,
                     f"{name!r} should be named {wanted!r}",
                     proposed=prefix + claimed.get(wanted, wanted), target_exists=exists)
            if not exists:
                claimed[wanted] = name
        yearly = {loose(n): n for n, node in required.children.items() if node.per_year}
        folded: dict[str, set[str]] = {}
        for name in list(leftovers):
            split = _split_year(name)
            if split is None or split[0] not in yearly:
                continue
            wanted, year = yearly[split[0]], split[1]
            parent = claimed.get(wanted)
            exists = parent is not None and actual.folders[parent].folder(year) is not None
            self.add("misnamed_folder", prefix + name,
                     f"{name!r} should be the year folder {wanted}/{year}",
                     proposed=f"{prefix}{parent or wanted}/{year}", target_exists=exists)
            folded.setdefault(wanted, set()).add(year)
            leftovers.remove(name)
        for name in leftovers:
            if self.foreign(actual.folders[name], prefix + name, name) or not top:
                continue
            self.add("unexpected_folder", prefix + name,
                     f"{name!r} is not a folder of the template")
        for name, node in required.children.items():
            skip = frozenset(folded.get(name, ()))
            if name in claimed:
                self.level(node, actual.folders[claimed[name]], f"{prefix}{claimed[name]}/", skip)
            elif name not in covered:  # a folded year folder is moved here instead
                self.missing(node, prefix + name, skip)
        if top:
            self.loose_files(actual, claimed)

    def missing(self, required: _Required, path: str, covered: frozenset[str]) -> None:
        self.add("missing_folder", path, f"the template asks for {path!r}")
        for name, node in required.children.items():
            if name not in covered:
                self.missing(node, f"{path}/{name}", frozenset())

    def foreign(self, actual: _Actual, path: str, name: str) -> bool:
        """Report ``path`` if it is another client's root, else look inside it."""
        match = self.index.match(name)
        if match is not None:
            self.add("foreign_client_folder", path,
                     f"{name!r} looks like the folder of client {match.client.customer_number} "
                     f"{match.client.name} (by {match.by.replace('_', ' ')})",
                     other=match.client)
            return True
        for child, below in sorted(actual.folders.items()):
            self.foreign(below, f"{path}/{child}", child)
        return False

    def loose_files(self, actual: _Actual, claimed: dict[str, str]) -> None:
        inbox = None
        if self.inbox is not None:
            inbox = claimed.get(nfc(self.inbox), nfc(self.inbox))
        for name in sorted(actual.files):
            self.add("loose_file", name, f"{name!r} lies loose in the client root",
                     proposed=f"{inbox}/{name}" if inbox else None,
                     target_exists=bool(inbox) and inbox in actual.folders
                     and name in actual.folders[inbox].files)


def find_drift(template_paths: Sequence[str], actual_entries: Iterable[str], *,
               client: ClientFacts | None = None, clients: Iterable[ClientFacts] = (),
               inbox: str | None = None,
               root_pattern: str = DEFAULT_ROOT_PATTERN) -> list[DriftFinding]:
    """Findings, sorted by path, for one client root.

    ``actual_entries`` are relative to the client root, folders ending in ``/`` (parents
    of listed entries are implied). ``clients`` are the firm's clients, for spotting their
    folders filed here (``client``, this one, is left out of that). ``inbox`` is the
    top-level folder loose files are proposed to move into, if the template has one.
    """
    mine = str(client.customer_number) if client is not None else None
    index = RootIndex((c for c in clients if str(c.customer_number) != mine), root_pattern)
    comparison = _Comparison(index, inbox)
    comparison.level(_required_tree(template_paths), _actual_tree(actual_entries), "")
    return sorted(comparison.findings, key=lambda f: (f.path, f.kind))


def drift_for(template: FolderTemplate, client: ClientFacts, actual_entries: Iterable[str],
              current_year: int, clients: Iterable[ClientFacts] = ()) -> list[DriftFinding]:
    """:func:`find_drift` with everything taken from ``template``."""
    inbox = template.inbox
    paths = expand(template, client, current_year)
    if inbox is not None and inbox not in paths:
        inbox = None  # the inbox is conditional and this client does not get it
    return find_drift(paths, actual_entries, client=client, clients=clients,
                      inbox=inbox, root_pattern=template.root_pattern)


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def plan(findings: Iterable[DriftFinding]) -> list[Action]:
    """The fixes: creates (automatic), then moves, then renames (both need approval).
    Unexpected folders get no action - only a person knows where they belong."""
    creates: list[Action] = []
    moves: list[Action] = []
    renames: list[Action] = []
    for finding in findings:
        if finding.kind == "missing_folder":
            creates.append(Action("create", finding.path, None, False, finding))
        elif finding.kind == "misnamed_folder" and finding.proposed is not None:
            if _parent(finding.path) == _parent(finding.proposed) and not finding.target_exists:
                renames.append(Action("rename", finding.path, finding.proposed, True, finding))
            else:
                moves.append(Action("move", finding.path, finding.proposed, True, finding))
        elif finding.kind == "loose_file" and finding.proposed is not None:
            moves.append(Action("move", finding.path, finding.proposed, True, finding))
        elif finding.kind == "foreign_client_folder":
            moves.append(Action("move", finding.path, "", True, finding,
                                target_client=finding.other_client))
    creates.sort(key=lambda a: (a.path.count("/"), a.path))
    # Deepest first, so renaming a parent never invalidates a child's path still to come.
    renames.sort(key=lambda a: (-a.path.count("/"), a.path))
    return creates + moves + renames


__all__ = ["Action", "ActionKind", "DriftFinding", "FindingKind", "drift_for", "find_drift",
           "plan"]
