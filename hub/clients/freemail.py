"""Public free-mail domains: an address there says nothing about which client it is.

Kept as data in one place so that the list can be maintained (and extended by the firm
through settings later) without touching the matching code.
"""

from __future__ import annotations

FREE_MAIL_DOMAINS = frozenset(
    {
        # International
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.fi",
        "live.com",
        "live.fi",
        "msn.com",
        "yahoo.com",
        "yahoo.fi",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.com",
        "gmx.net",
        "mail.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "zoho.com",
        "yandex.com",
        "tutanota.com",
        # Finnish
        "suomi24.fi",
        "luukku.com",
        "kolumbus.fi",
        "elisanet.fi",
        "saunalahti.fi",
        "welho.com",
        "netti.fi",
        "pp.inet.fi",
        "inet.fi",
        "dnainternet.net",
        "anvianet.fi",
        "mbnet.fi",
        "phnet.fi",
        "surffi.fi",
        "nic.fi",
    }
)


def is_free_mail(domain: str) -> bool:
    return domain.lower().strip(".") in FREE_MAIL_DOMAINS
