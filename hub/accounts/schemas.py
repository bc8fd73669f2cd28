"""API shapes for accounts. A secret goes in, never out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from hub.schemas import In, Instant, Out

Kind = Literal["imap", "mail_archive", "local", "webdav"]
Share = Literal["full", "subject", "metadata"]


class AccountIn(In):
    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    owner_user_id: int | None = Field(
        default=None, description="Admins may add an account for a colleague; default: you"
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="imap: host, port, security (tls|starttls|plain), username, folders, "
        "size_limit, since (YYYY-MM-DD); mail_archive: path; local: path, clients_path; "
        "webdav: url, username, root, clients_path (clients_path: the folder holding the "
        "client folders, default the top level)",
    )
    secret: SecretStr | None = None
    share_level: Share = "full"


class AccountPatch(In):
    name: str | None = None
    settings: dict[str, Any] | None = None
    secret: SecretStr | None = None
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
