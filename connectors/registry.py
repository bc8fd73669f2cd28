"""Building a source's connector, or a drive's writer, from an account's plain values.

The one place that knows which connector serves which kind of account. It takes plain
values - the kind, the settings as the firm's policy has checked them
(:func:`hub.accounts.targets.connect_settings`) and the revealed secret - so, like every
connector, it sees nothing of the hub but :mod:`hub.sync.protocol` (and the parsed-mail
shape), and the hub imports no connector. The interfaces (``api/``) and the tasks
(``workers/``) hand this module to :mod:`hub.flows.sync` and :mod:`hub.flows.folders` as
their ``Sources``; those read the account, check its settings and call it. A registry in
the hub that connectors plug themselves into would be a second way of saying these few
lines, and would make what runs depend on what happened to be imported.

A connector's package is imported when an account of its kind is built, so a command that
syncs mail never loads the WebDAV client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from hub.sync.protocol import Connector

if TYPE_CHECKING:
    from connectors.local.writer import LocalFolderWriter
    from connectors.webdav.writer import WebDavWriter
    from hub.sync.parsed_mail import ParsedMail

#: The account kinds :func:`connector` builds a connector for.
KINDS = ("mail_archive", "imap", "local", "webdav")


def connector(kind: str, settings: Mapping[str, Any], secret: str | None) -> Connector | None:
    """The connector of an account of ``kind``; None for a kind no connector reads."""
    if kind == "mail_archive":
        from connectors.mail_archive import MailArchiveConnector

        return MailArchiveConnector(settings["path"])
    if kind == "imap":
        from connectors.imap import ImapConnector

        since = settings.get("since")
        return ImapConnector(
            host=settings["host"], port=int(settings.get("port", 993)),
            username=settings["username"], password=secret or "",
            security=settings.get("security", "tls"), folders=settings.get("folders"),
            size_limit=int(settings.get("size_limit", 25 * 1024 * 1024)),
            batch_size=int(settings.get("batch_size", 200)),
            since=date.fromisoformat(since) if since else None,
        )
    if kind == "local":
        from connectors.local import LocalFolderConnector

        return LocalFolderConnector(settings["path"])
    if kind == "webdav":
        from connectors.webdav import WebDavConnector

        return WebDavConnector(settings["url"], settings["username"], secret or "",
                               root=str(settings.get("root") or "/"))
    return None


def writer(kind: str, settings: Mapping[str, Any],
           secret: str | None) -> LocalFolderWriter | WebDavWriter | None:
    """The drive writer of an account of ``kind``, built on the same settings as its
    connector; None for a kind whose folders cannot be changed."""
    from connectors.local.connector import LocalFolderConnector
    from connectors.local.writer import LocalFolderWriter
    from connectors.webdav.connector import WebDavConnector
    from connectors.webdav.writer import WebDavWriter

    built = connector(kind, settings, secret)
    if isinstance(built, LocalFolderConnector):
        return LocalFolderWriter(built.root)
    if isinstance(built, WebDavConnector):
        return WebDavWriter(built)
    return None


def mail_parser() -> Callable[[bytes], ParsedMail]:
    """The shared mail parser that filing hands each fetched message to."""
    from connectors.mail.parse import parse_message

    return parse_message


__all__ = ["KINDS", "connector", "mail_parser", "writer"]
