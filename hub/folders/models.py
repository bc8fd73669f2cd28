"""Tables for folder enforcement: the firm's templates and settings, and the planned fixes.

Findings are not stored: they are a pure function of the drive index, the templates and the
client register, cheap to compute for a firm's few hundred clients, and a stored copy would
only go stale whenever a sync ran. Actions are stored, because they carry a person's
approval and the record of what was done to the drive, by whom and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow

ACTION_KINDS = ("create", "rename", "move")
#: proposed -> approved -> applying -> applied -> (undoing ->) undone, or failed on the way;
#: stale: a later check no longer finds what the action would fix.
ACTION_STATUSES = ("proposed", "approved", "applying", "applied", "failed", "stale",
                   "undoing", "undone")
#: Actions still waiting to run; a re-plan keeps these (and their approvals) when it
#: proposes the same fix again.
OPEN_STATUSES = ("proposed", "approved", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FolderSettings(Base):
    """The firm's one row: the default template and how enforcement may act on its own."""

    __tablename__ = "folder_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("past_years >= 0 AND next_years >= 0", name="years"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    #: The default template in the text format of :mod:`hub.folders.template`.
    template_text: Mapped[str] = mapped_column(Text)
    past_years: Mapped[int] = mapped_column(Integer, default=1)
    next_years: Mapped[int] = mapped_column(Integer, default=1)
    #: Missing folders are created without asking only when an admin has switched this on.
    auto_create: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Days before a fiscal year starts that its folders are already required.
    year_lead_days: Mapped[int] = mapped_column(Integer, default=31)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupFolderTemplate(Base):
    """A client group's own template; it replaces the default for the group's clients."""

    __tablename__ = "group_folder_templates"
    __table_args__ = (CheckConstraint("past_years >= 0 AND next_years >= 0", name="years"),)

    client_group_id: Mapped[int] = mapped_column(
        ForeignKey("client_groups.id", ondelete="CASCADE"), primary_key=True)
    template_text: Mapped[str] = mapped_column(Text)
    past_years: Mapped[int] = mapped_column(Integer, default=1)
    next_years: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FolderAction(Base):
    """One planned fix of one client folder, and what became of it.

    Paths are relative to the drive root with no trailing ``/``; ``seq`` is the action's
    place in the latest plan of its account, which keeps every path valid while the plan
    runs (creates parents first, renames deepest first).
    """

    __tablename__ = "folder_actions"
    __table_args__ = (
        CheckConstraint(_in("kind", ACTION_KINDS), name="kind"),
        CheckConstraint(_in("status", ACTION_STATUSES), name="status"),
        Index("ix_folder_actions_account_status_seq", "account_id", "status", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    #: For a folder filed under the wrong client: the client it goes to.
    target_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), nullable=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(1000))
    target: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    is_folder: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The finding kind this fixes, and its explanation for a person.
    finding: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    #: Approved by the firm's settings rather than by a person.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: None when the scheduled enforcement applied it.
    applied_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: What happened, in a sentence (also set when there was nothing left to do).
    result: Mapped[str] = mapped_column(Text, default="")
    #: The drive was changed by this action (not found already done): only then is there
    #: anything to undo - removing a folder the hub did not create could lose work.
    changed_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why it failed and what to do; empty unless status is failed.
    error: Mapped[str] = mapped_column(Text, default="")
    #: The failure may pass by itself (a lock, a full disk, a server error); the next
    #: apply tries a retryable failure again, others wait for a person's approval.
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    undone_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
