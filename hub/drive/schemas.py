"""API shapes for browsing a client's drive folder, the review list and root mappings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hub.schemas import Id, In, Instant, Out, Text


class DriveEntryOut(Out):
    #: A folder's id in the index; files are entries of their folder and have none.
    id: int | None
    name: str
    #: Relative to the client's root folder; folders end with "/".
    path: str
    is_folder: bool
    size: int | None
    content_type: str | None
    modified: Instant | None
    modified_by: str | None


class FolderListingOut(Out):
    """One page of a folder under the client's root; ``root`` is null when the client has
    no drive folder yet (an admin maps one with PUT /clients/{id}/drive-root)."""

    client_id: int
    account_id: int | None
    root: str | None
    path: str
    level: str
    items: list[DriveEntryOut]
    next: str | None = None


class UnmappedFolderOut(Out):
    account_id: int
    account_name: str
    path: str
    name: str
    #: An admin cleared this folder's mapping; automatic matching leaves it alone.
    cleared: bool


class DriveRootIn(In):
    account_id: Id
    path: Annotated[str, Text(500, min_length=1)] = Field(
        description="The folder, relative to the drive root, e.g. "
                    "'Asiakkaat/1001 Oy Esimerkki Ab/'")


class DriveRootOut(Out):
    client_id: int | None
    account_id: int
    path: str
    origin: str
    #: Files and folders now filed under the client through this folder.
    items: int
