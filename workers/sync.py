"""Running a sync for an account: build its connector from the stored settings and
secret, then hand it to the hub's runner with the sinks for its item kinds.

What only one kind of account needs (its connector, its sink) is imported when such an
account syncs; every table is loaded up front, since the rows a sync writes refer to any
of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

import hub.models  # noqa: F401 - every table: a sync writes rows that refer to any of them
from hub.accounts.models import Account
from hub.accounts.secrets import reveal_secret
from hub.accounts.targets import connect_settings
from hub.errors import InvalidInput, NotFound
from hub.settings import get_settings
from hub.sync.models import SyncRun
from hub.sync.protocol import Connector
from hub.sync.runner import Runner, Sink

if TYPE_CHECKING:
    from hub.mail.filing import Filing

#: The account kinds :func:`connector_for` can build a connector for.
SYNCABLE_KINDS = ("mail_archive", "imap", "local", "webdav")
#: The kinds whose fetch leaves mail to be filed.
MAIL_KINDS = ("mail_archive", "imap")


def connector_for(account: Account, secret: str | None) -> Connector:
    """The account's connector, built from its settings as the firm's policy allows them
    now (a server path under CLIENTHUB_SERVER_ROOTS, a host CLIENTHUB_OUTBOUND_ALLOW
    lets through): refused, it raises InvalidInput naming the setting."""
    settings: dict[str, Any] = connect_settings(account.kind, account.settings or {})
    if account.kind == "mail_archive":
        from connectors.mail_archive import MailArchiveConnector

        return MailArchiveConnector(settings["path"])
    if account.kind == "imap":
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
    if account.kind == "local":
        from connectors.local import LocalFolderConnector

        return LocalFolderConnector(settings["path"])
    if account.kind == "webdav":
        from connectors.webdav import WebDavConnector

        return WebDavConnector(settings["url"], settings["username"], secret or "",
                               root=str(settings.get("root") or "/"))
    raise InvalidInput(f"accounts of kind {account.kind!r} cannot be synced yet", field="kind")


def sinks(kind: str | None = None) -> dict[str, Sink]:
    """The sink per item kind, for an account of ``kind`` (None: every kind). One drive
    sink serves files, folders and listings alike."""
    found: dict[str, Sink] = {}
    if kind is None or kind in MAIL_KINDS:
        from hub.mail.ingest import MailSink

        # One mail sink for messages and flag changes: the runner hands a sink runs of
        # items, and a flag change amid new mail then does not cut the batch in two.
        mail = MailSink()
        found |= {"message": mail, "flags": mail}
    if kind is None or kind not in MAIL_KINDS:
        from hub.drive.sink import KINDS, DriveSink

        found |= dict.fromkeys(KINDS, DriveSink())
    return found


def filing(factory: sessionmaker[Session]) -> Filing:
    """Filing of fetched mail, with the shared mail parser, in worker processes where
    the settings allow them."""
    from connectors.mail.parse import parse_to_dict
    from hub.mail.filing import Filing

    return Filing(factory, parse_to_dict, workers=get_settings().parse_workers)


def sync_account(factory: sessionmaker[Session], account_id: int,
                 progress: Callable[[str, int], None] | None = None) -> list[SyncRun]:
    """Fetch every stream of the account, then file the mail the fetch brought (and any
    an earlier run left waiting), all under the account's lease."""
    with factory() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound(f"no account with id {account_id}")
        kind = account.kind
        connector = connector_for(account, reveal_secret(account))
    runner = Runner(factory, sinks(kind))
    close = getattr(connector, "close", None)  # an IMAP session, WebDAV's HTTP client
    with runner.leased(account_id) as holder:
        try:
            runs = runner.run_streams(account_id, connector, holder, progress)
        finally:
            if callable(close):
                close()  # before filing: the server's connection is not held idle meanwhile
        if kind in MAIL_KINDS:
            runs.append(filing(factory).run(account_id, progress, holder))
    if kind not in MAIL_KINDS:
        from hub.drive.roots import recalculate

        # Clients added or renamed since the last run may now match a folder.
        with factory() as session:
            drive = session.get(Account, account_id)
            if drive is not None:
                recalculate(session, drive)
                session.commit()
    return runs
