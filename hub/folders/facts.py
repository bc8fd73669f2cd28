"""What the folder logic knows of a client, read from the client register.

There is no client card table yet, so a template's condition flags (``[payroll]``) come from
the client's special groups (erikoisryhmät): a client in a special group named ``payroll``
has the flag, compared without regard to case or spacing. Firms name their groups in
Finnish, so a few Finnish group names also raise the English flag the shipped template
uses. When client cards arrive, their flags replace this module and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.clients.models import Client
from hub.naming import ClientFacts, fold

#: Special-group names (folded) that also raise a flag of the shipped default template.
FLAG_ALIASES: dict[str, str] = {
    "palkanlaskenta": "payroll",
    "palkat": "payroll",
}


def card_flags(special_group_names: Iterable[str]) -> frozenset[str]:
    flags: set[str] = set()
    for name in special_group_names:
        key = fold(name)
        flags.add(key)
        if key in FLAG_ALIASES:
            flags.add(FLAG_ALIASES[key])
    return frozenset(flags)


def client_facts(client: Client) -> ClientFacts:
    return ClientFacts(customer_number=client.customer_number, name=client.name,
                       business_id=client.business_id,
                       flags=card_flags(g.name for g in client.special_groups))


__all__ = ["FLAG_ALIASES", "card_flags", "client_facts"]
