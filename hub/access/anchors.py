"""The audit trail's anchors: its head, written outside the database after every commit.

A forger with the database alone can delete the newest audit rows and roll the head back,
or replace the whole chain; the keyed chain cannot tell either from a quieter day. An
anchor is a line in an append-only file naming this database's trail, a row id and that
row's hash, written once the row has committed::

    a1 <trail> <entry id> <hash> <time written, UTC ISO 8601>

so that :mod:`hub.access.verification` can say that a row the file names is gone or has
changed. The admin's own note of ``clienthub audit head`` (``ID:HASH``) is checked the
same way. Every process that appends (API workers, Celery workers, the CLI) writes to the
same file: each line is one ``write`` on a descriptor opened with ``O_APPEND``, so lines
from several processes never interleave. A line is handed to the kernel at once and
forced to disk at most once a second per process: a process crash loses nothing, a power
cut at most that second (the anchor then names less, never a row that did not commit).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import InvalidInput
from hub.schemas import ID_MAX

log = logging.getLogger(__name__)

VERSION = "a1"
_HASH = re.compile(r"[0-9a-f]{64}")
_ROW_ID = re.compile(r"[0-9]{1,10}")
_FSYNC_EVERY = 1.0
_last_fsync = {"at": 0.0}
_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class Anchor:
    """A row the trail is known to have had: ``entry_id`` with ``hash``."""

    trail: str
    entry_id: int
    hash: str
    written: str = ""

    def line(self) -> str:
        return f"{VERSION} {self.trail} {self.entry_id} {self.hash} {self.written}\n"


def write(path: Path, anchor: Anchor) -> None:
    """Append one anchor. Never raises: the audit row has committed already, and a lost
    anchor only weakens a later check, so a failure is logged for the admin instead."""
    stamped = Anchor(anchor.trail, anchor.entry_id, anchor.hash,
                     datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, stamped.line().encode())
            now = time.monotonic()
            if now - _last_fsync["at"] >= _FSYNC_EVERY:
                os.fsync(fd)
                _last_fsync["at"] = now
        finally:
            os.close(fd)
    except OSError as exc:
        if str(path) not in _warned:  # once per process and file, not once per read
            _warned.add(str(path))
            log.warning("cannot write the audit anchor to %s (%s); audit verify cannot "
                        "catch removed newest rows until it can: fix the path or its "
                        "permissions, or set CLIENTHUB_AUDIT_ANCHOR_PATH", path, exc)


def read(path: Path) -> Iterator[Anchor | int]:
    """Each anchor in the file, in file order; a line that is not one yields its number
    (the last line of a file cut off by a crash, or an edit)."""
    with path.open("r", encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if (len(parts) in (4, 5) and parts[0] == VERSION and parts[2].isdigit()
                    and _HASH.fullmatch(parts[3]) and line.endswith("\n")):
                yield Anchor(parts[1], int(parts[2]), parts[3],
                             parts[4] if len(parts) == 5 else "")
            elif line.strip():
                yield number


def parse_head(value: str) -> Anchor:
    """``ID:HASH`` as ``clienthub audit head`` prints it; the trail is not needed."""
    entry_id, _, digest = value.strip().partition(":")
    # ASCII digits only, within the id column: str.isdigit() takes any script's digits.
    if (not _ROW_ID.fullmatch(entry_id) or int(entry_id) > ID_MAX
            or not _HASH.fullmatch(digest)):
        raise InvalidInput(
            f"{value!r} is not a kept audit head; give it as 'clienthub audit head' printed "
            "it: ID:HASH (a row id, a colon, 64 hex digits)", field="head")
    return Anchor("", int(entry_id), digest, "kept by the admin")
