"""``clienthub accounts add local`` and ``clienthub accounts add webdav``: drive accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import ByOpt, out
from api.cli_mail import _add, _secret
from hub.errors import ClientHubError


def add_local(
    owner: Annotated[str, typer.Option(help="Email of the staff member whose drive it is")],
    path: Annotated[Path, typer.Option(help="The folder on disk (a synced OneDrive or "
                                            "Dropbox folder, a mounted share)")],
    clients_path: Annotated[str, typer.Option(help="The folder inside it that holds the "
                                                   "client folders; default the top level")]
    = "",
    share_level: Annotated[str, typer.Option(help="full, subject or metadata")] = "full",
    name: Annotated[str | None, typer.Option(help="A name for the account")] = None,
    by: ByOpt = None,
) -> None:
    """Add a folder on disk as a drive; its client folders are found by name."""
    folder = path.expanduser().resolve()
    if not folder.is_dir():
        raise ClientHubError(f"{folder} is not a folder; give the folder that holds the "
                             "client folders (or their parent, with --clients-path)")
    account = _add(owner, {"kind": "local", "name": name or folder.name,
                           "settings": {"path": str(folder), "clients_path": clients_path},
                           "share_level": share_level}, by)
    out.print(f"Drive {account.name} added (id {account.id}). Index it: "
              f"clienthub sync --account {account.id}")


def add_webdav(
    owner: Annotated[str, typer.Option(help="Email of the staff member whose drive it is")],
    url: Annotated[str, typer.Option(help="The WebDAV address, e.g. Nextcloud's "
                                          "https://host/remote.php/dav/files/USER/")],
    username: Annotated[str, typer.Option(help="Login name")],
    root: Annotated[str, typer.Option(help="The folder to index, below the address")] = "/",
    clients_path: Annotated[str, typer.Option(help="The folder inside the root that holds "
                                                   "the client folders; default the top "
                                                   "level")] = "",
    share_level: Annotated[str, typer.Option(help="full, subject or metadata")] = "full",
    name: Annotated[str | None, typer.Option(help="A name for the account")] = None,
    by: ByOpt = None,
) -> None:
    """Add a WebDAV drive (Nextcloud, ownCloud...); the password is asked for (or read
    from CLIENTHUB_ACCOUNT_SECRET), never taken from the command line."""
    secret = _secret(f"Password for {username} at {url}")
    account = _add(owner, {"kind": "webdav", "name": name or f"{username} at {url}",
                           "settings": {"url": url, "username": username, "root": root,
                                        "clients_path": clients_path},
                           "secret": secret, "share_level": share_level}, by)
    out.print(f"Drive {account.name} added (id {account.id}). Index it: "
              f"clienthub sync --account {account.id}")
