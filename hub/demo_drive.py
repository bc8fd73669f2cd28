"""The demo firm's shared drive: a folder per client on local disk, kept by the template
for most clients and drifted for a few, as a real firm's drive is after some years.

:func:`write_drive` lays out the tree as it stood before this week (every file dated
weeks back, so the first index is a summary per client, not a flood); :func:`this_week`
then does what a busy week does - a client uploads a batch of vouchers, a payslip run
lands, a contract is revised - so the second sync shows collapsed drive activity.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from hub.folders.template import DEFAULT_TEMPLATE, expand
from hub.naming import ClientFacts, root_name


def _touch(path: Path, when: datetime, content: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content or f"{path.name}\n".encode())
    os.utime(path, (when.timestamp(), when.timestamp()))


def write_drive(root: Path, clients: list[ClientFacts], now: datetime,
                year: int) -> dict[str, str]:
    """The tree before this week, with ``year``'s folders (the fiscal year the firm plans
    for); returns the drifted clients' roots and what is wrong there."""
    old = now - timedelta(days=40)
    drifted: dict[str, str] = {}
    for index, facts in enumerate(clients):
        base = root / root_name(facts)
        for folder in expand(DEFAULT_TEMPLATE, facts, year):
            (base / folder).mkdir(parents=True, exist_ok=True)
        for month in range(1, 4):
            _touch(base / "Kirjanpito" / str(year) / f"tositteet-{month:02d}-{year}.pdf", old)
        _touch(base / "Sopimukset" / "Toimeksiantosopimus.pdf", old)
        if index == 2:  # folders renamed by hand over the years, a loose file
            (base / "Tilinpäätös").rename(base / "Tilinpaatos")
            (base / "Kirjanpito" / str(year)).rename(base / f"kirjanpito {year}")
            _touch(base / "skannaus 14.3.pdf", old)
            drifted[base.name] = "misnamed folders and a loose file"
        if index == 3:  # an extra top-level folder, a missing one, another client's folder
            (base / "Vanhat tiedostot").mkdir()
            (base / "Valtakirjat").rmdir()
            stray = base / root_name(clients[0])
            _touch(stray / "palkkalaskelma.pdf", old)
            drifted[base.name] = "an unexpected folder, a missing one, another client's folder"
    # A prospect's folder, made before they are a client: it matches none and waits.
    _touch(root / "Kosken Kuljetus - tarjous" / "Tarjous palkanlaskennasta.pdf", old)
    for path in [root, *root.rglob("*")]:  # the whole tree dates from before this week
        if path.is_dir():
            os.utime(path, (old.timestamp(), old.timestamp()))
    return drifted


def this_week(root: Path, client: ClientFacts, now: datetime) -> str:
    """A week's work in one client's folder; returns its root's name."""
    base = root / root_name(client)
    vouchers = base / "Kirjanpito" / str(now.year) / f"{now.month:02d}"
    for n in range(1, 41):
        _touch(vouchers / f"kuitti-{n:03d}.jpg", now - timedelta(days=2, minutes=n))
    payroll = base / "Palkanlaskenta" / str(now.year)
    if payroll.is_dir():
        _touch(payroll / f"palkkalaskelmat-{now.month:02d}.pdf", now - timedelta(days=1))
    _touch(base / "Sopimukset" / "Toimeksiantosopimus.pdf", now - timedelta(hours=3),
           b"revised engagement contract\n")
    return base.name
