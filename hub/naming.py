"""Folder names as people really type them, and finding the client a root folder is for.

Three strengths of sameness:

* :func:`nfc` - the same name. macOS writes names decomposed (``a`` + combining
  diaeresis), Windows and Linux usually composed; that is the filesystem's doing, not drift.
* :func:`fold` - the same name up to case and spacing (``kirjanpito``, ``Asiakkaan  aineisto``).
* :func:`loose` - also up to Finnish letters written without their dots (``Tilinpaatos``),
  and ``_``, ``-`` or ``.`` written for a space. Used to recognise a folder, never to decide
  it needs no fixing.

A client's root folder is named by the template's root pattern, by default
``{customer_number} {client_name}``; :func:`match_root` finds the client by that name,
loosely compared, or else by a business ID written in the name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_ROOT_PATTERN = "{customer_number} {client_name}"

_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s_.\-]+")
# Characters Windows refuses in names; synced folders end up on Windows sooner or later.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_BUSINESS_ID = re.compile(r"(?<!\d)(\d{7})\s?-\s?(\d)(?!\d)")


@dataclass(frozen=True, slots=True)
class ClientFacts:
    """What the folder logic needs to know of a client card."""

    customer_number: int | str
    name: str
    business_id: str | None = None
    #: Card flags such as ``payroll``; a template folder with a condition needs its flag.
    flags: frozenset[str] = field(default_factory=frozenset)

    def has_flag(self, flag: str) -> bool:
        wanted = fold(flag)
        return any(fold(f) == wanted for f in self.flags)


@dataclass(frozen=True, slots=True)
class RootMatch:
    client: ClientFacts
    by: Literal["pattern", "business_id"]


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def fold(name: str) -> str:
    return _SPACES.sub(" ", nfc(name).casefold()).strip()


def loose(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", fold(name))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", bare).strip()


def safe_folder_name(name: str) -> str:
    """``name`` usable as one folder name on every platform the folders sync to."""
    cleaned = _SPACES.sub(" ", _UNSAFE.sub("-", nfc(name))).strip()
    # Windows drops trailing dots and spaces, which would make the name drift by itself.
    return cleaned.rstrip(". ") or "-"


def root_name(client: ClientFacts, pattern: str = DEFAULT_ROOT_PATTERN) -> str:
    """The client's root folder name. Plain replacement, not ``str.format``: a client name
    is data and must not be able to reach into the pattern machinery."""
    name = (pattern.replace("{customer_number}", str(client.customer_number))
            .replace("{client_name}", client.name)
            .replace("{business_id}", client.business_id or ""))
    return safe_folder_name(name)


def business_ids_in(name: str) -> set[str]:
    """Business IDs (``1234567-8``) written anywhere in ``name``, spaces around the hyphen
    forgiven; the check digit is not verified here - only IDs on client cards match."""
    return {f"{digits}-{check}" for digits, check in _BUSINESS_ID.findall(nfc(name))}


class RootIndex:
    """Clients indexed by loose root name and business ID, for matching many folders."""

    def __init__(self, clients: Iterable[ClientFacts],
                 pattern: str = DEFAULT_ROOT_PATTERN) -> None:
        self.by_name: dict[str, list[ClientFacts]] = {}
        self.by_business_id: dict[str, list[ClientFacts]] = {}
        for client in clients:
            self.by_name.setdefault(loose(root_name(client, pattern)), []).append(client)
            if client.business_id:
                key = client.business_id.replace(" ", "")
                self.by_business_id.setdefault(key, []).append(client)

    def match(self, folder_name: str) -> RootMatch | None:
        """The one client ``folder_name`` is the root of; None when none or several fit
        - a folder must never be filed under a guess."""
        named = self.by_name.get(loose(folder_name), [])
        if len(named) == 1:
            return RootMatch(named[0], "pattern")
        if named:
            return None
        found = {c for bid in business_ids_in(folder_name)
                 for c in self.by_business_id.get(bid, [])}
        if len(found) == 1:
            return RootMatch(found.pop(), "business_id")
        return None


def match_root(folder_name: str, clients: Iterable[ClientFacts] | RootIndex,
               pattern: str = DEFAULT_ROOT_PATTERN) -> RootMatch | None:
    """The client whose root folder ``folder_name`` is, tolerant of case, spacing and
    Finnish letters, or found by a business ID in the name."""
    index = clients if isinstance(clients, RootIndex) else RootIndex(clients, pattern)
    return index.match(folder_name)


__all__ = [
    "DEFAULT_ROOT_PATTERN",
    "ClientFacts",
    "RootIndex",
    "RootMatch",
    "business_ids_in",
    "fold",
    "loose",
    "match_root",
    "nfc",
    "root_name",
    "safe_folder_name",
]
