"""API shapes for the timeline; what a reader gets depends on their level."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from hub.schemas import Id, In, Instant, Out, Text


class NoteIn(In):
    text: Annotated[str, Text(20_000, min_length=1, multiline=True)]
    mentions: list[Id] = Field(
        default_factory=list, max_length=1000,
        description="User ids to mention, in addition to @email or @name.surname in the text.",
    )


class FileActivityOut(Out):
    """Drive activity: ``metadata`` readers see what happened and how often, not to
    which files; ``folder`` (relative to the client root) and ``names`` (up to five
    samples) need ``subject``."""

    action: str
    count: int
    folder: str | None = None
    names: list[str] | None = None


class TimelineEntryOut(Out):
    """Fields left out are hidden from this reader: ``metadata`` shows kind, time, actor,
    (for mail) participants and (for drive activity) the action and file count;
    ``subject`` adds the title, and the folder and file names; ``full`` adds summary,
    body, mentions and the source's details."""

    id: int
    client_id: int
    kind: str
    occurred_at: Instant
    level: str
    actor_user_id: int | None
    source_kind: str
    #: Mail: who wrote to whom - shown from the metadata level up.
    participants: list[str] | None = None
    #: Drive activity (kind file_activity).
    files: FileActivityOut | None = None
    title: str | None = None
    summary: str | None = None
    body: str | None = None
    mentions: list[int] | None = None
    extra: dict[str, Any] | None = None
