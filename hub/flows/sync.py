"""Syncing an account: its connector from the outer layer, the hub's runner and filing.

The interfaces and the tasks hand in their :class:`Sources` (``connectors/registry.py``):
the hub reads the account, checks where it may point now and reveals its secret, and the
sources build a connector of those plain values. The runner then fetches every stream,
and for a mailbox filing takes what the fetch brought, all under the account's lease.

A sync refused before any stream is read - its server now outside the policy, its
password not decryptable, or the source itself refusing (unreachable, the login
refused) while its streams are listed - is recorded as a failed run of the ``connect``
stream with the reason, so that the status shows it as it shows any failed run
(:mod:`hub.sync.status`); each stream's own run records what goes wrong in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

import hub.models  # noqa: F401 - every table: a sync writes rows that refer to any of them
from hub.access.policy import Principal
from hub.accounts import service as accounts
from hub.accounts.models import Account
from hub.accounts.secrets import reveal_secret
from hub.accounts.targets import connect_settings
from hub.db import utcnow
from hub.errors import ConfigurationError, InvalidInput, NotFound
from hub.folders.writer import DriveWriter
from hub.mail.parsing import Parse
from hub.settings import get_settings
from hub.sync import status as health
from hub.sync.models import SyncRun
from hub.sync.protocol import Connector, SourceError
from hub.sync.runner import Runner, Sink

#: The kinds whose fetch leaves mail to be filed.
MAIL_KINDS = ("mail_archive", "imap")


class Sources(Protocol):
    """What the hub needs of the connectors layer, handed in from above."""

    def connector(self, kind: str, settings: Mapping[str, Any],
                  secret: str | None) -> Connector | None: ...

    def writer(self, kind: str, settings: Mapping[str, Any],
               secret: str | None) -> DriveWriter | None: ...

    def mail_parser(self) -> Parse: ...


def connector_for(sources: Sources, account: Account, secret: str | None) -> Connector:
    """The account's connector, built from its settings as the firm's policy allows them
    now (a server path under CLIENTHUB_SERVER_ROOTS, a host CLIENTHUB_OUTBOUND_ALLOW
    lets through): refused, it raises InvalidInput naming the setting."""
    settings = connect_settings(account.kind, account.settings or {})
    built = sources.connector(account.kind, settings, secret)
    if built is None:
        raise InvalidInput(f"accounts of kind {account.kind!r} cannot be synced yet",
                           field="kind")
    return built


def writer_for(sources: Sources) -> Callable[[Account], DriveWriter]:
    """The drive writer of an account, built from the same settings as its connector."""
    def build(account: Account) -> DriveWriter:
        settings = connect_settings(account.kind, account.settings or {})
        built = sources.writer(account.kind, settings, reveal_secret(account))
        if built is None:
            raise InvalidInput(f"folders cannot be changed on {account.kind} accounts",
                               field="kind")
        return built
    return build


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


def account_row(session: Session, account_id: int) -> Account:
    """What the mail and drive sinks are handed as the account: its row, in the batch's
    session (the runner, below the accounts, knows only the id)."""
    account = session.get(Account, account_id)
    assert account is not None
    return account


def sync_account(factory: sessionmaker[Session], sources: Sources, account_id: int,
                 progress: Callable[[str, int], None] | None = None) -> list[SyncRun]:
    """Fetch every stream of the account, then file the mail the fetch brought (and any
    an earlier run left waiting), all under the account's lease."""
    from hub.mail.filing import Filing

    kind, connector = _connect(factory, sources, account_id)
    runner = Runner(factory, sinks(kind), account=account_row)
    # Made before the fetch: once enough mail has come, it starts its parse workers'
    # server while the fetch still runs.
    filing = (Filing(factory, sources.mail_parser(), workers=get_settings().parse_workers)
              if kind in MAIL_KINDS else None)
    close = getattr(connector, "close", None)  # an IMAP session, WebDAV's HTTP client
    with runner.leased(account_id) as holder:
        try:
            runs = runner.run_streams(account_id, connector, holder,
                                      filing.warming(progress) if filing else progress)
        except SourceError as exc:
            # Only listing the streams lets one out: each stream's run catches its own.
            record_refusal(factory, account_id, exc.message)
            raise
        finally:
            if callable(close):
                close()  # before filing: the server's connection is not held idle meanwhile
        if filing is not None:
            runs.append(filing.run(account_id, progress, holder))
    if kind not in MAIL_KINDS:
        from hub.drive.roots import recalculate

        # Clients added or renamed since the last run may now match a folder.
        with factory() as session:
            drive = session.get(Account, account_id)
            if drive is not None:
                recalculate(session, drive)
                session.commit()
    return runs


def _connect(factory: sessionmaker[Session], sources: Sources,
             account_id: int) -> tuple[str, Connector]:
    """The account's kind and connector; a refusal is recorded as a failed run, then
    raised."""
    with factory() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound(f"no account with id {account_id}")
        try:
            return account.kind, connector_for(sources, account, _revealed(account))
        except (InvalidInput, ConfigurationError) as exc:
            refused = exc
    record_refusal(factory, account_id, refused.message)
    raise refused


def _revealed(account: Account) -> str | None:
    try:
        return reveal_secret(account)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"this account's stored password cannot be decrypted: {exc.message}; list the "
            "key it was stored with in CLIENTHUB_ENCRYPTION_KEYS (or restore "
            "CLIENTHUB_SECRET_KEY), or give the account its password again") from exc


def record_refusal(factory: sessionmaker[Session], account_id: int, reason: str) -> SyncRun:
    """A failed run of the :data:`~hub.sync.status.CONNECT` stream saying why the account's
    sync was refused before any stream was read; the status shows it until a later run
    of the account supersedes it."""
    with factory() as session:
        now = utcnow()
        run = SyncRun(account_id=account_id, stream=health.CONNECT, status="failed",
                      started_at=now, finished_at=now, message=reason[:2000])
        session.add(run)
        session.commit()
        return run


def accounts_to_sync(factory: sessionmaker[Session],
                     account_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the accounts a sync covers (:func:`hub.accounts.service.accounts_to_sync`)."""
    with factory() as session:
        return [(a.id, a.name) for a in accounts.accounts_to_sync(session, account_id)]


@dataclass(frozen=True, slots=True)
class AccountSync:
    """One account's sync as the status shows it."""

    account: health.AccountHealth
    #: The last run of every stream.
    runs: list[health.RunView]
    running: bool
    #: Mail fetched and not yet filed, and of those the copies whose filing failed.
    waiting: int
    held: int


def sync_status(session: Session, principal: Principal) -> list[AccountSync]:
    """The last run of every stream of the principal's accounts (admins: all), and what is
    running and waiting: :func:`hub.sync.status.read`, the same reading as ``clienthub
    status``, over the session's connection."""
    connection = session.connection()

    def fetch(sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return connection.exec_driver_sql(sql, tuple(params)).all()

    # Which accounts the principal sees is the accounts service's to say.
    visible = [a.id for a in accounts.visible_accounts(session, principal)]
    found = health.read(fetch, connection.dialect.paramstyle, account_ids=visible)
    return [AccountSync(a, a.runs, a.running, a.waiting, a.held) for a in found.accounts]


__all__ = ["MAIL_KINDS", "AccountSync", "Sources", "account_row", "accounts_to_sync",
           "connector_for", "record_refusal", "sinks", "sync_account", "sync_status",
           "writer_for"]
