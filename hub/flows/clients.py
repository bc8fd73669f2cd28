"""A client's changes as they reach other domains: its mail and its timeline."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.clients import service
from hub.clients.models import Client
from hub.clients.schemas import ClientIn, ClientPatch
from hub.errors import Conflict
from hub.mail.matching import rematch
from hub.timeline.models import TimelineEntry


def create_client(session: Session, principal: Principal | None, data: ClientIn) -> Client:
    """A new client; past mail from its addresses and domains joins its timeline now."""
    client = service.create_client(session, principal, data)
    _rematch(session, client)
    return client


def update_client(session: Session, principal: Principal | None, client: Client,
                  patch: ClientPatch) -> Client:
    """A changed client; when its contacts or domains changed, past mail follows them."""
    before = service.reach(client)
    service.update_client(session, principal, client, patch)
    if patch.model_fields_set & {"contacts", "domains"}:
        _rematch(session, client, before)
    return client


def delete_client(session: Session, principal: Principal | None, client: Client) -> None:
    """Only a client without a timeline goes; the firm must retain the others."""
    if session.scalar(select(exists().where(TimelineEntry.client_id == client.id))):
        raise Conflict(
            f"client {client.name} has a timeline, which the firm must retain; set its "
            "status to archived instead"
        )
    service.delete_client(session, principal, client)


def _rematch(session: Session, client: Client,
             before: tuple[set[str], set[str]] = (set(), set())) -> None:
    """Past mail from the client's addresses and domains joins its timeline now (and mail
    of removed ones leaves it, unless a person linked it by hand)."""
    addresses, domains = service.reach(client)
    rematch(session, addresses=addresses | before[0], domains=domains | before[1])


__all__ = ["create_client", "delete_client", "update_client"]
