"""A client's mail domains and contact addresses: what may identify a client in mail.

Mail is matched to clients by these (hub/mail/matching.py), so a domain or address
identifies one client: the firm's own, a public free-mail domain, or one that already
points to another client (as its domain, its contact, or its contact's domain) is
refused, rather than let it bring that client's mail into another timeline. To share a
message between clients deliberately, a person links it to each by hand.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.clients.freemail import is_free_mail
from hub.clients.models import Client, ClientDomain, Contact, ContactEmail
from hub.errors import Conflict, InvalidInput
from hub.settings import get_settings
from hub.staff.models import User

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _is_firm_domain(domain: str) -> bool:
    firm = {d.strip().lower().lstrip("@").rstrip(".") for d in get_settings().firm_domains}
    return any(domain == own or domain.endswith(f".{own}") for own in firm if own)


def normalize_domain(value: str, field: str = "domains") -> str:
    domain = value.strip().lower().lstrip("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidInput(f"{value!r} is not a mail domain", field=field) from exc
    if not _DOMAIN.match(domain):
        raise InvalidInput(
            f"{value!r} is not a mail domain; give it as example.fi", field=field
        )
    if is_free_mail(domain):
        raise InvalidInput(
            f"{domain} is a public free-mail domain and cannot identify a client; add the "
            "client's address as a contact email instead",
            field=field,
        )
    if _is_firm_domain(domain):
        raise InvalidInput(
            f"{domain} is the firm's own mail domain and cannot identify a client; give the "
            "client's own domain",
            field=field,
        )
    return domain


def _named(client: Client) -> str:
    return f"{client.customer_number} {client.name} (id {client.id})"


def require_free_domain(session: Session, domain: str, client_id: int | None, *,
                        field: str) -> None:
    """Refuse a domain that already points to another client: as a domain of theirs, or as
    the domain of one of their contacts' addresses."""
    other = session.scalar(select(Client).join(ClientDomain).where(
        ClientDomain.domain == domain, Client.id != (client_id or -1)).limit(1))
    if other is not None:
        raise Conflict(
            f"{domain} is already a mail domain of client {_named(other)}; a domain "
            "identifies one client - remove it there first, or add this client's people as "
            "contact emails instead",
            field=field,
        )
    other = session.scalar(select(Client).join(Contact).join(ContactEmail).where(
        func.lower(ContactEmail.email).endswith(f"@{domain}", autoescape=True),
        Client.id != (client_id or -1)).limit(1))
    if other is not None:
        raise Conflict(
            f"{domain} is the domain of a contact of client {_named(other)}, whose mail it "
            "would bring into this client's timeline; add this client's people as contact "
            "emails instead, or link a shared message to both clients by hand",
            field=field,
        )


def require_free_address(session: Session, address: str, client_id: int | None, *,
                         field: str) -> None:
    """Refuse a contact address of the firm's own, or one that already points to another
    client (as their contact, or through their domain)."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    staff = session.scalar(select(User.id).where(func.lower(User.email) == address))
    if staff is not None or _is_firm_domain(domain):
        raise InvalidInput(
            f"{address} is an address of the firm itself; a client's contact is someone at "
            "the client",
            field=field,
        )
    other = session.scalar(select(Client).join(Contact).join(ContactEmail).where(
        func.lower(ContactEmail.email) == address, Client.id != (client_id or -1)).limit(1))
    reason = "a contact email of"
    if other is None and not is_free_mail(domain):
        other = session.scalar(select(Client).join(ClientDomain).where(
            ClientDomain.domain == domain, Client.id != (client_id or -1)).limit(1))
        reason = "at the mail domain of"
    if other is not None:
        raise Conflict(
            f"{address} is already {reason} client {_named(other)}; an address identifies "
            "one client - remove it there first, or link a shared message to both clients "
            "by hand (POST /api/v1/messages/{id}/links)",
            field=field,
        )
