"""API shapes for accounts. A secret goes in, never out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from hub.schemas import Id, In, Instant, Out, Text

Kind = Literal["imap", "mail_archive", "local", "webdav"]
Share = Literal["full", "subject", "metadata"]
#: NFC as the PRECIS OpaqueString profile has it, so the same password typed anywhere matches.
Secret = Annotated[SecretStr, Text(4096)]


class AccountIn(In):
    kind: Kind
    name: Annotated[str, Text(200, min_length=1)]
    owner_user_id: Id | None = Field(
        default=None, description="Admins may add an account for a colleague; default: you"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="imap: host, port, security (tls|starttls|plain), username, folders, "
        "size_limit, since (YYYY-MM-DD); mail_archive: path; local: path, clients_path; "
        "webdav: url, username, root, clients_path (clients_path: the folder holding the "
        "client folders, default the top level). mail_archive and local accounts are an "
        "admin's to add, with a path under CLIENTHUB_SERVER_ROOTS; imap and webdav hosts "
        "must be public addresses unless CLIENTHUB_OUTBOUND_ALLOW lists them",
    )
    secret: Secret | None = None
    share_level: Share = "full"


class AccountPatch(In):
    name: Annotated[str, Text(200, min_length=1)] | None = None
    settings: dict[str, Any] | None = None
    secret: Secret | None = None
    share_level: Share | None = None
    enabled: bool | None = None


class AccountOut(Out):
    id: int
    owner_user_id: int
    kind: str
    name: str
    settings: dict[str, Any]
    has_secret: bool
    share_level: str
    enabled: bool
    created_at: Instant
