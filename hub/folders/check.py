"""The check: every mapped client root compared with its client's template.

Findings are computed on demand, never stored (see :mod:`hub.folders.models`). Only active
clients are checked: an archived client's folder is kept as it was left, and creating next
year's folders for it would be noise. Clients of every status still count when spotting a
folder filed under the wrong client.

The fiscal year the check works for is the calendar year, moved forward ``year_lead_days``
before it starts, so that next year's folders are required - and created - ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.clients.models import Client
from hub.folders.drift import DriftFinding, drift_for
from hub.folders.facts import client_facts
from hub.folders.index import MappedRoot, entries_under, mapped_roots
from hub.folders.template import FolderTemplate
from hub.folders.templates import folder_settings, template_book
from hub.naming import ClientFacts


@dataclass(frozen=True, slots=True)
class ClientDrift:
    account_id: int
    client_id: int
    customer_number: int
    client_name: str
    #: The client root, relative to the drive root, without the trailing ``/``.
    root: str
    year: int
    template: FolderTemplate
    findings: tuple[DriftFinding, ...]


@dataclass(frozen=True, slots=True)
class Register:
    """The client register as the folder logic needs it, read once per check."""

    clients: dict[int, Client]
    facts: dict[int, ClientFacts]

    def by_number(self, number: int | str) -> Client | None:
        wanted = str(number)
        return next((c for c in self.clients.values()
                     if str(c.customer_number) == wanted), None)


def planning_year(today: date, lead_days: int) -> int:
    return (today + timedelta(days=lead_days)).year


def register(session: Session) -> Register:
    rows = session.scalars(select(Client).options(selectinload(Client.special_groups)))
    clients = {c.id: c for c in rows}
    return Register(clients, {cid: client_facts(c) for cid, c in clients.items()})


def check(session: Session, today: date, *, account_id: int | None = None,
          client_id: int | None = None) -> list[ClientDrift]:
    """Drift of every mapped root of an active client (optionally one account or client),
    in drive order."""
    year = planning_year(today, folder_settings(session).year_lead_days)
    book = template_book(session)
    firm = register(session)
    everyone = list(firm.facts.values())
    drifts: list[ClientDrift] = []
    for root in mapped_roots(session, account_id=account_id, client_id=client_id):
        client = firm.clients.get(root.client_id)
        if client is None or client.status != "active":
            continue
        drifts.append(client_drift(session, root, client, firm.facts[client.id],
                                   book.for_client(client), year, everyone))
    return drifts


def client_drift(session: Session, root: MappedRoot, client: Client, facts: ClientFacts,
                 template: FolderTemplate, year: int,
                 everyone: list[ClientFacts]) -> ClientDrift:
    entries = entries_under(session, root.account_id, root.path)
    findings = drift_for(template, facts, entries, year, everyone)
    return ClientDrift(root.account_id, client.id, client.customer_number, client.name,
                       root.path, year, template, tuple(findings))


__all__ = ["ClientDrift", "Register", "check", "client_drift", "planning_year", "register"]
