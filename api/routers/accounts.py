"""Mail and drive accounts (owners and admins), and sync status."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, SessionDep
from hub.accounts import service
from hub.accounts.schemas import AccountIn, AccountOut, AccountPatch
from hub.flows import accounts as flows
from hub.flows.sync import sync_status as status_of
from hub.schemas import IdParam, Instant, ListPage, Out

router = APIRouter(tags=["accounts and sync"])


@router.get("/accounts", response_model=ListPage[AccountOut])
def list_accounts(principal: PrincipalDep, session: SessionDep) -> ListPage[AccountOut]:
    """Your accounts (admins: everyone's). Secrets are never shown."""
    return ListPage(items=[service.describe(a)
                           for a in service.visible_accounts(session, principal)])


@router.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(body: AccountIn, principal: PrincipalDep, session: SessionDep) -> AccountOut:
    """Add a mailbox or drive, yours (admins: anyone's). Only an admin adds a
    ``mail_archive`` or ``local`` account (a path on the server, under
    CLIENTHUB_SERVER_ROOTS); an ``imap`` or ``webdav`` host must be a public address unless
    CLIENTHUB_OUTBOUND_ALLOW lists it."""
    return service.describe(service.create_account(session, principal, body))


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: IdParam, principal: PrincipalDep, session: SessionDep) -> AccountOut:
    return service.describe(service.get_account(session, principal, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def update_account(account_id: IdParam, body: AccountPatch, principal: PrincipalDep,
                   session: SessionDep) -> AccountOut:
    """Change an account; a ``mail_archive`` or ``local`` account's path only an admin
    changes."""
    account = flows.update_account(
        session, principal, service.get_account(session, principal, account_id), body)
    return service.describe(account)


@router.delete("/accounts/{account_id}", status_code=204)
def delete_account(account_id: IdParam, principal: PrincipalDep, session: SessionDep) -> None:
    service.delete_account(session, principal,
                           service.get_account(session, principal, account_id))


class StreamStatus(Out):
    stream: str
    status: str
    started_at: Instant
    finished_at: Instant | None
    items: int
    errors: int
    unparsed: int
    lag_seconds: int | None
    message: str


class AccountStatus(Out):
    account_id: int
    name: str
    running: bool
    streams: list[StreamStatus]
    #: Mail fetched and not yet filed into the timelines (filing follows each fetch).
    waiting: int
    #: Of those, copies whose filing failed: kept, and tried again with the next sync.
    held: int


@router.get("/sync/status", response_model=ListPage[AccountStatus])
def sync_status(principal: PrincipalDep, session: SessionDep) -> ListPage[AccountStatus]:
    """The last run of every stream of your accounts (admins: all), and what is running.
    A running stream's counts grow as its batches commit. A mail account's sync fetches
    each folder, then files what came into the timelines (the 'filing' stream);
    'waiting' counts what is fetched and not yet filed. A failed run says why;
    'unparsed' counts messages kept raw because they did not parse."""
    return ListPage(items=[AccountStatus(
        account_id=s.account.id, name=s.account.name, running=s.running,
        streams=[StreamStatus.model_validate(r) for r in s.runs],
        waiting=s.waiting, held=s.held) for s in status_of(session, principal)])
