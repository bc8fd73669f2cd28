"""The folder template every client folder should follow, and its expansion for one client.

A template is a tree of :class:`FolderNode`. A node with ``per_year`` holds one folder per
fiscal year (the ``{year}`` placeholder) from ``past_years`` back to ``next_years`` ahead of
the current year, its children repeated under each; a node with a ``condition`` exists only
for clients whose card has that flag (``payroll``).

Admins write it in a small indented text format (no YAML), which reads like domain.md::

    # comments start with '#'
    {customer_number} {client_name}/      the first line: the client root's name pattern
      Kirjanpito/{year}/                  indentation nests; text after the path is a note
      Palkanlaskenta/{year}/  [payroll]   [flag]: only for clients with that card flag
      Asiakkaan aineisto/     [inbox]     [inbox]: where loose files are proposed to go
    years: 1 back, 1 ahead

A path ends at the first ``/`` followed by a space or the end of the line, so names may
hold spaces. ``A/B/`` on one line is ``A`` with the child ``B``. The same template as a
JSON-able dict comes from :meth:`FolderTemplate.to_dict` and goes back with
:meth:`FolderTemplate.from_dict`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.naming import (
    DEFAULT_ROOT_PATTERN,
    ClientFacts,
    loose,
    nfc,
    root_name,
    safe_folder_name,
)

YEAR = "{year}"
_PATH = re.compile(r"^(?P<path>.*?/)(?=\s|$)(?P<rest>.*)$")
_TAGS = re.compile(r"^\s*\[(?P<tag>[^\]]+)\]")
_YEARS = re.compile(r"^years:\s*(?P<back>[0-9]+)\s+back\s*,\s*(?P<ahead>[0-9]+)\s+ahead\s*$")
#: How far back and ahead a template may reach: every year is a set of folders per client.
MAX_PAST_YEARS, MAX_NEXT_YEARS = 20, 5


class TemplateError(ValueError):
    """The template text or dict is malformed; the message names the line or the node."""


@dataclass(frozen=True, slots=True)
class FolderNode:
    name: str
    children: tuple[FolderNode, ...] = ()
    per_year: bool = False
    #: A client card flag the folder depends on, or None for every client.
    condition: str | None = None

    def __post_init__(self) -> None:
        if safe_folder_name(self.name) != self.name or self.name != nfc(self.name):
            raise TemplateError(f"{self.name!r} cannot be a folder name; leave out "
                                '<>:"/\\|?* and trailing dots or spaces')
        _check_siblings(self.children, f"under {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "per_year": self.per_year, "condition": self.condition,
                "children": [c.to_dict() for c in self.children]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FolderNode:
        name, condition = data.get("name"), data.get("condition")
        if not isinstance(name, str) or not name:
            raise TemplateError(f"a folder needs a name, got {data!r}")
        if condition is not None and not isinstance(condition, str):
            raise TemplateError(f"the condition of {name!r} must be a flag name")
        return cls(name=name, per_year=bool(data.get("per_year", False)), condition=condition,
                   children=tuple(cls.from_dict(c) for c in data.get("children") or ()))


def _check_siblings(nodes: Sequence[FolderNode], where: str) -> None:
    # Siblings that look alike would make every drift check ambiguous.
    seen: dict[str, str] = {}
    for node in nodes:
        key = loose(node.name)
        if key in seen:
            raise TemplateError(f"{node.name!r} and {seen[key]!r} {where} differ only in "
                                "case, spacing or accents; keep one")
        seen[key] = node.name


@dataclass(frozen=True, slots=True)
class FolderTemplate:
    folders: tuple[FolderNode, ...]
    root_pattern: str = DEFAULT_ROOT_PATTERN
    past_years: int = 1
    next_years: int = 1
    #: The top-level folder files lying loose in a client root are proposed to move into.
    inbox: str | None = None

    def __post_init__(self) -> None:
        if "{customer_number}" not in self.root_pattern and \
                "{client_name}" not in self.root_pattern:
            raise TemplateError("the root pattern must contain {customer_number} or "
                                "{client_name}, or every client would get the same folder")
        if self.past_years < 0 or self.next_years < 0:
            raise TemplateError("years back and ahead cannot be negative")
        if self.past_years > MAX_PAST_YEARS or self.next_years > MAX_NEXT_YEARS:
            raise TemplateError(f"a template reaches at most {MAX_PAST_YEARS} years back and "
                                f"{MAX_NEXT_YEARS} ahead; lower the numbers on the years: line")
        _check_siblings(self.folders, "in the client root")
        if self.inbox is not None and self.inbox not in {n.name for n in self.folders}:
            raise TemplateError(f"the inbox {self.inbox!r} must be a top-level folder")

    def to_dict(self) -> dict[str, Any]:
        return {"root_pattern": self.root_pattern, "past_years": self.past_years,
                "next_years": self.next_years, "inbox": self.inbox,
                "folders": [n.to_dict() for n in self.folders]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FolderTemplate:
        try:
            return cls(folders=tuple(FolderNode.from_dict(n) for n in data["folders"]),
                       root_pattern=str(data.get("root_pattern", DEFAULT_ROOT_PATTERN)),
                       past_years=int(data.get("past_years", 1)),
                       next_years=int(data.get("next_years", 1)),
                       inbox=data.get("inbox"))
        except (KeyError, TypeError) as exc:
            raise TemplateError(f"a template needs a list of folders ({exc})") from exc

    def root_name(self, client: ClientFacts) -> str:
        return root_name(client, self.root_pattern)


@dataclass
class _Draft:
    """A node while its lines are still being read."""

    name: str
    per_year: bool = False
    condition: str | None = None
    children: list[_Draft] = field(default_factory=list)

    def freeze(self) -> FolderNode:
        return FolderNode(self.name, tuple(c.freeze() for c in self.children),
                          self.per_year, self.condition)


def parse_template(text: str) -> FolderTemplate:
    """A template from the indented text format (see the module docstring)."""
    root_pattern: str | None = None
    top: list[_Draft] = []
    inbox: str | None = None
    years = (1, 1)
    # (indent, the draft its children attach to); the root line sits at the bottom.
    stack: list[tuple[int, list[_Draft]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        if "\t" in line[: len(line) - len(body) + 1]:
            raise TemplateError(f"line {number}: indent with spaces, not tabs")
        indent = len(line) - len(body)
        if (found := _YEARS.match(body)) and indent == 0:
            years = (int(found["back"]), int(found["ahead"]))
            continue
        match = _PATH.match(body)
        if not match:
            raise TemplateError(f"line {number}: a folder line ends its path with '/', "
                                f"as in 'Kirjanpito/{YEAR}/'; got {body!r}")
        if root_pattern is None:
            root_pattern = match["path"].rstrip("/")
            stack = [(indent, top)]
            continue
        while stack and indent <= stack[-1][0]:
            stack.pop()
        if not stack:
            raise TemplateError(f"line {number}: folders go indented under the root line")
        tags: list[str] = []
        rest = match["rest"]
        while found_tag := _TAGS.match(rest):
            tags.append(found_tag["tag"].strip())
            rest = rest[found_tag.end():]
        head, last = _chain(match["path"], number)
        for tag in tags:
            if tag == "inbox":
                inbox = head.name
            elif head.condition is None:
                head.condition = tag
            else:
                raise TemplateError(f"line {number}: one condition per folder, got "
                                    f"[{head.condition}] and [{tag}]")
        stack[-1][1].append(head)
        stack.append((indent, last.children))
    if root_pattern is None:
        raise TemplateError("the template is empty; its first line is the client root, "
                            "such as '{customer_number} {client_name}/'")
    return FolderTemplate(tuple(d.freeze() for d in top), root_pattern, years[0], years[1],
                          inbox)


def _chain(path: str, number: int) -> tuple[_Draft, _Draft]:
    """The drafts of one line's path: its first folder and the one its children go under."""
    head: _Draft | None = None
    last: _Draft | None = None
    for segment in path.strip("/").split("/"):
        segment = segment.strip()
        if segment == YEAR:
            if last is None or last.per_year:
                raise TemplateError(f"line {number}: {YEAR} must follow a folder name, once")
            last.per_year = True
            continue
        if not segment:
            raise TemplateError(f"line {number}: empty folder name in {path!r}")
        draft = _Draft(nfc(segment))
        if last is None:
            head = draft
        else:
            last.children.append(draft)
        last = draft
    assert head is not None and last is not None
    return head, last


def format_template(template: FolderTemplate) -> str:
    """The text format of ``template``; :func:`parse_template` reads it back equal."""
    lines = [f"{template.root_pattern}/"]

    def emit(nodes: Sequence[FolderNode], depth: int) -> Iterator[str]:
        for node in nodes:
            tags = f"  [{node.condition}]" if node.condition else ""
            if node.name == template.inbox and depth == 1:
                tags += "  [inbox]"
            year = f"{YEAR}/" if node.per_year else ""
            yield f"{'  ' * depth}{node.name}/{year}{tags}"
            yield from emit(node.children, depth + 1)

    lines += emit(template.folders, 1)
    lines.append(f"years: {template.past_years} back, {template.next_years} ahead")
    return "\n".join(lines) + "\n"


def fiscal_years(template: FolderTemplate, current_year: int) -> range:
    return range(current_year - template.past_years, current_year + template.next_years + 1)


def expand(template: FolderTemplate, client: ClientFacts, current_year: int) -> list[str]:
    """Every folder ``client`` should have, relative to its root, parents before children."""
    years = fiscal_years(template, current_year)
    paths: list[str] = []

    def walk(nodes: Sequence[FolderNode], prefix: str) -> None:
        for node in nodes:
            if node.condition is not None and not client.has_flag(node.condition):
                continue
            path = prefix + node.name
            paths.append(path)
            if node.per_year:
                for year in years:
                    paths.append(f"{path}/{year}")
                    walk(node.children, f"{path}/{year}/")
            else:
                walk(node.children, f"{path}/")

    walk(template.folders, "")
    return paths


DEFAULT_TEMPLATE_TEXT = """\
# The Finnish default (domain.md); admins edit it.
{customer_number} {client_name}/
  Kirjanpito/{year}/            bookkeeping, one folder per fiscal year
  Tilinpäätös/{year}/           financial statements
  Palkanlaskenta/{year}/  [payroll]  payroll, only for clients with payroll
  Verottaja/                    tax authority correspondence
  Sopimukset/                   contracts, the engagement contract
  Valtakirjat/                  authorisations
  Asiakkaan aineisto/  [inbox]  material sent by the client, to be filed
years: 1 back, 1 ahead
"""

DEFAULT_TEMPLATE = parse_template(DEFAULT_TEMPLATE_TEXT)

__all__ = [
    "DEFAULT_TEMPLATE",
    "DEFAULT_TEMPLATE_TEXT",
    "YEAR",
    "FolderNode",
    "FolderTemplate",
    "TemplateError",
    "expand",
    "fiscal_years",
    "format_template",
    "parse_template",
]
