"""Turning findings into stored :class:`FolderAction` rows.

A re-plan proposes the same fix again for drift that is still there; the stored action is
then kept, with its approval, rather than doubled. Open actions the new check no longer
calls for (someone fixed the folder by hand, the template changed) become ``stale``.

Creates are approved on the spot only when an admin has switched ``auto_create`` on;
renames and moves always wait for a person. Findings no action can fix - an unexpected
folder, a merge into a folder that is already there, a folder of a client with no root on
this drive - are left for a person and counted as ``by_hand``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db import utcnow
from hub.folders.check import ClientDrift, Register
from hub.folders.drift import Action, plan
from hub.folders.index import MappedRoot
from hub.folders.models import FolderAction
from hub.folders.template import expand
from hub.folders.templates import TemplateBook

_PHASE = {"create": 0, "move": 1, "rename": 2}
_KEEP = ("proposed", "approved", "failed", "applying")

ActionKey = tuple[int, str, str, str | None]


@dataclass(frozen=True, slots=True)
class Wanted:
    """One fix as it should be stored: paths relative to the drive root."""

    account_id: int
    client_id: int
    kind: str
    path: str
    target: str | None
    is_folder: bool
    finding: str
    detail: str
    automatic: bool
    target_client_id: int | None = None

    @property
    def key(self) -> ActionKey:
        return (self.account_id, self.kind, self.path, self.target)


@dataclass
class PlanReport:
    year: int
    created: list[FolderAction] = field(default_factory=list)
    kept: list[FolderAction] = field(default_factory=list)
    stale: int = 0
    by_hand: int = 0

    @property
    def actions(self) -> list[FolderAction]:
        return sorted(self.created + self.kept, key=lambda a: (a.account_id, a.seq, a.id))


def join(root: str, rel: str) -> str:
    return f"{root}/{rel}" if rel else root


def _foreign_target(action: Action, drift: ClientDrift, firm: Register,
                    roots: dict[tuple[int, int], str],
                    book: TemplateBook) -> tuple[int, str] | None:
    """(client id, drive path) a folder filed under the wrong client goes to: into that
    client's inbox folder, where its material waits to be filed, or its root."""
    assert action.target_client is not None
    other = firm.by_number(action.target_client.customer_number)
    if other is None or (drift.account_id, other.id) not in roots:
        return None
    root = roots[(drift.account_id, other.id)]
    name = action.path.rsplit("/", 1)[-1]
    template = book.for_client(other)
    inbox = template.inbox
    if inbox is not None and inbox not in expand(template, firm.facts[other.id], drift.year):
        inbox = None  # a conditional inbox this client does not get
    return other.id, join(root, f"{inbox}/{name}" if inbox else name)


def wanted_actions(drifts: Iterable[ClientDrift], firm: Register, roots: Sequence[MappedRoot],
                   book: TemplateBook, auto_create: bool
                   ) -> tuple[list[Wanted], int]:
    """The fixes in the order they must run, and the number of findings left by hand."""
    root_of = {(r.account_id, r.client_id): r.path for r in roots}
    wanted: list[Wanted] = []
    by_hand = 0
    for drift in drifts:
        fixed = 0
        for action in plan(drift.findings):
            if action.finding.target_exists:
                continue  # a merge: only a person can tell which copy wins
            target_client: int | None = None
            target: str | None
            if action.target_client is not None:
                found = _foreign_target(action, drift, firm, root_of, book)
                if found is None:
                    continue
                target_client, target = found
            else:
                target = join(drift.root, action.target) if action.target is not None else None
            wanted.append(Wanted(
                drift.account_id, drift.client_id, action.kind, join(drift.root, action.path),
                target, action.finding.kind != "loose_file", action.finding.kind,
                action.finding.detail, auto_create and not action.needs_approval,
                target_client))
            fixed += 1
        by_hand += len(drift.findings) - fixed
    # Every client's creates run first, then moves, then renames: a folder moved into
    # another client's inbox finds it already created.
    wanted.sort(key=lambda w: _PHASE[w.kind])
    return wanted, by_hand


def store(session: Session, wanted: Sequence[Wanted], *, account_ids: Iterable[int],
          client_id: int | None, report: PlanReport, approved_by: int | None = None,
          sweep: bool = True) -> PlanReport:
    """Upsert ``wanted`` as actions; with ``sweep``, open actions in scope that are not
    wanted any more become stale. ``approved_by`` approves every wanted action at once
    (an admin asked for exactly these)."""
    accounts = sorted(set(account_ids))
    stmt = select(FolderAction).where(FolderAction.account_id.in_(accounts),
                                      FolderAction.status.in_(_KEEP))
    if client_id is not None:
        stmt = stmt.where(FolderAction.client_id == client_id)
    open_actions: dict[ActionKey, FolderAction] = {}
    for row in session.scalars(stmt.order_by(FolderAction.id)):
        open_actions.setdefault((row.account_id, row.kind, row.path, row.target), row)
    now = utcnow()
    seen: set[int] = set()
    for seq, want in enumerate(wanted):
        found = open_actions.get(want.key)
        if found is None:
            row = FolderAction(account_id=want.account_id, client_id=want.client_id,
                               target_client_id=want.target_client_id, kind=want.kind,
                               path=want.path, target=want.target, is_folder=want.is_folder,
                               status="proposed", created_at=now)
            session.add(row)
            report.created.append(row)
        else:
            row = found
            report.kept.append(row)
        seen.add(id(row))
        row.seq, row.finding, row.detail = seq, want.finding, want.detail
        if row.status == "proposed" and (want.automatic or approved_by is not None):
            row.status, row.automatic = "approved", approved_by is None
            row.approved_by, row.approved_at = approved_by, now
    if sweep:
        for row in open_actions.values():
            if id(row) not in seen and row.status != "applying":
                row.status, row.result = "stale", "a later check no longer found this drift"
                report.stale += 1
    session.flush()
    return report


__all__ = ["PlanReport", "Wanted", "join", "store", "wanted_actions"]
