"""Running approved actions against a drive, one committed step at a time, and undoing them.

Each action goes ``approved -> applying`` (committed) before the drive is touched and
``applying -> applied`` (committed) after. A process killed in between leaves the action
``applying``; the next run, holding the account's lease so nobody else is mid-way, looks
at the drive to see whether the step happened and records it - it never does a step twice
and never skips one. Undo follows the same two-commit pattern through ``undoing``.

A drive step is atomic (mkdir, rename, MKCOL, MOVE), so a failed action leaves the drive
as it was; the action is marked failed with the source's advice. Later actions of the same
client folder wait for the next run, since they may build on the failed one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from hub.access import audit
from hub.accounts.models import Account
from hub.db import utcnow
from hub.errors import Conflict, NotFound, SourceFailed
from hub.folders.models import FolderAction
from hub.folders.writer import DriveWriter
from hub.sync.leases import held, renew_lease
from hub.sync.protocol import SourceError

WriterFor = Callable[[Account], DriveWriter]
#: Called after each action with (action, done so far, total).
Progress = Callable[[FolderAction, int, int], None]
RUNNABLE = ("approved", "applying")


@dataclass
class ApplyReport:
    applied: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _queue(session: Session, account_id: int, action_ids: Collection[int] | None,
           automatic_only: bool) -> list[int]:
    retry = (FolderAction.status == "failed") & FolderAction.retryable
    stmt = select(FolderAction.id).where(
        FolderAction.account_id == account_id,
        or_(FolderAction.status.in_(RUNNABLE), retry))
    if action_ids is not None:
        stmt = stmt.where(FolderAction.id.in_(list(action_ids)))
    if automatic_only:
        stmt = stmt.where(FolderAction.automatic.is_(True))
    return list(session.scalars(stmt.order_by(FolderAction.seq, FolderAction.id)))


def apply_account(factory: sessionmaker[Session], account_id: int, writer: DriveWriter, *,
                  actor: int | None, action_ids: Collection[int] | None = None,
                  automatic_only: bool = False, progress: Progress | None = None,
                  report: ApplyReport | None = None) -> ApplyReport:
    """Apply the account's runnable actions in plan order (optionally only some)."""
    report = report if report is not None else ApplyReport()
    with held(factory, account_id, role="folders") as keeper:
        holder = keeper.holder
        with factory() as session:
            queue = _queue(session, account_id, action_ids, automatic_only)
        failed_clients: set[int] = set()
        for done, action_id in enumerate(queue, start=1):
            outcome, action = _apply_one(factory, action_id, writer, actor, failed_clients,
                                         holder)
            if outcome == "applied":
                report.applied.append(action_id)
            elif outcome == "failed":
                report.failed.append(action_id)
                failed_clients.add(action.client_id)
            elif outcome == "skipped":
                report.skipped.append(action_id)
            if progress is not None:
                progress(action, done, len(queue))
    return report


def _apply_one(factory: sessionmaker[Session], action_id: int, writer: DriveWriter,
               actor: int | None, failed_clients: set[int], holder: str
               ) -> tuple[str, FolderAction]:
    with factory() as session:
        action = session.get(FolderAction, action_id)
        assert action is not None
        runnable = action.status in RUNNABLE or (action.status == "failed" and action.retryable)
        if not runnable:
            return "gone", action  # approved away or undone meanwhile
        if action.client_id in failed_clients:
            return "skipped", action
        resumed = action.status == "applying"
        if not resumed:
            action.status, action.error = "applying", ""
        # Before the drive is touched: a process whose lease went to another stops here.
        renew_lease(session, action.account_id, holder)
        session.commit()
        try:
            result, changed = _perform(action, writer, resumed)
        except SourceError as exc:
            action.status, action.error, action.retryable = "failed", exc.message, exc.retryable
            _record(session, action, actor, "folders.action_failed")
            session.commit()
            return "failed", action
        action.status, action.result, action.changed_drive = "applied", result, changed
        action.error, action.retryable = "", False
        action.applied_by, action.applied_at = actor, utcnow()
        _record(session, action, actor, "folders.action_applied")
        renew_lease(session, action.account_id, holder)
        session.commit()
        return "applied", action


def _perform(action: FolderAction, writer: DriveWriter, resumed: bool) -> tuple[str, bool]:
    """Do the action's step unless the drive shows it done; (what happened, changed?)."""
    if action.kind == "create":
        if writer.exists(action.path):
            if resumed:
                return "created (finished after an interruption)", True
            return "was already there", False
        writer.make_folder(action.path)
        return "created", True
    assert action.target is not None
    source, target = writer.exists(action.path), writer.exists(action.target)
    verb = "renamed" if action.kind == "rename" else "moved"
    if not source and target and resumed:
        return f"{verb} (finished after an interruption)", True
    if not source and target:
        raise SourceError(f"{action.path!r} is no longer there and {action.target!r} is: it "
                          "looks done by hand; sync the drive and check again")
    if not source:
        raise SourceError(f"{action.path!r} is no longer there (moved or removed meanwhile); "
                          "sync the drive and plan again")
    if target:
        raise SourceError(f"{action.target!r} already exists and nothing is ever replaced; "
                          "merge the two by hand, then check again")
    writer.move(action.path, action.target, action.is_folder)
    return verb, True


def _record(session: Session, action: FolderAction, actor: int | None, what: str) -> None:
    audit.record(session, actor_user_id=actor, action=what, client_id=action.client_id,
                 detail={"action": action.id, "kind": action.kind, "path": action.path,
                         "target": action.target, "status": action.status,
                         "error": action.error})


def undo_action(factory: sessionmaker[Session], action_id: int, writer_for: WriterFor,
                actor: int | None) -> FolderAction:
    """Put the drive back as it was before the action: move back a rename or move, remove
    a created folder if it is still empty."""
    with factory() as session:
        action = session.get(FolderAction, action_id)
        if action is None:
            raise NotFound(f"no folder action with id {action_id}")
        if action.status not in ("applied", "undoing"):
            raise Conflict(f"action {action_id} is {action.status}; only an applied action "
                           "can be undone")
        if not action.changed_drive:
            raise Conflict(f"action {action_id} found the drive already as planned and "
                           "changed nothing, so there is nothing to undo")
        account = session.get(Account, action.account_id)
        assert account is not None
        writer = writer_for(account)
        try:
            if action.status != "undoing":
                action.status = "undoing"
                session.commit()
            result = _reverse(action, writer)
        except (SourceError, Conflict) as exc:
            action.status = "applied"  # the drive was left as it was
            session.commit()
            if isinstance(exc, Conflict):
                raise
            raise SourceFailed(exc.message, retryable=exc.retryable) from exc
        finally:
            writer.close()
        action.status, action.result = "undone", f"{action.result}; undone: {result}"
        action.undone_by, action.undone_at = actor, utcnow()
        _record(session, action, actor, "folders.action_undone")
        session.commit()
        return action


def _reverse(action: FolderAction, writer: DriveWriter) -> str:
    if action.kind == "create":
        if not writer.exists(action.path):
            return "the folder was already gone"
        if not writer.is_empty_folder(action.path):
            raise Conflict(f"{action.path!r} holds files or folders now, so it stays; remove "
                           "it by hand if it is really not needed")
        writer.remove_empty_folder(action.path)
        return "removed the empty folder"
    assert action.target is not None
    source, target = writer.exists(action.path), writer.exists(action.target)
    if source and not target:
        return "it was already back"
    if not target:
        raise Conflict(f"{action.target!r} is no longer there, so it cannot be moved back; "
                       "sync the drive and look for it")
    if source:
        raise Conflict(f"{action.path!r} exists again, so {action.target!r} cannot be moved "
                       "back without replacing it; merge the two by hand")
    writer.move(action.target, action.path, action.is_folder)
    return f"moved back to {action.path!r}"


__all__ = ["ApplyReport", "Progress", "WriterFor", "apply_account", "undo_action"]
