"""The per-folder IMAP cursor and its JSON form.

::

    {"v": 1,
     "uidvalidity": 1795334752,    # the UIDs below mean something only under this
     "uidnext": 5021,              # every UID below this has been looked at
     "highestmodseq": 90211,       # CONDSTORE servers: flag changes/expunges after this
     "uids": "1:4000,4002:5020",   # the messages we hold: yielded and not deleted since
     "flagsums": [[1, 212, "9f0c1d2e4a7b"], ...]}   # servers without CONDSTORE only

``flagsums`` stands in for MODSEQ on servers that lack CONDSTORE (Exchange, older
servers): the known UIDs are cut into chunks of about one batch and each chunk keeps a
digest of its messages' flags, so an incremental sync re-reads every flag (one FETCH a
chunk) but yields flag items only for the chunks whose digest moved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.imap.uidset import UidSet
from hub.sync.protocol import CursorInvalidated

VERSION = 1


@dataclass(slots=True)
class FlagSum:
    lo: int
    hi: int
    digest: str


@dataclass(slots=True)
class FolderCursor:
    uidvalidity: int
    uidnext: int = 1
    highestmodseq: int | None = None
    uids: UidSet = field(default_factory=UidSet)
    flagsums: list[FlagSum] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "v": VERSION,
            "uidvalidity": self.uidvalidity,
            "uidnext": self.uidnext,
            "highestmodseq": self.highestmodseq,
            "uids": str(self.uids),
        }
        if self.flagsums is not None:
            out["flagsums"] = [[s.lo, s.hi, s.digest] for s in self.flagsums]
        return out

    @classmethod
    def from_dict(cls, stream: str, data: Mapping[str, Any]) -> FolderCursor:
        """A cursor this code cannot read is as good as none: the stream resyncs."""
        try:
            if data.get("v") != VERSION:
                raise ValueError(f"cursor version {data.get('v')!r}")
            modseq = data.get("highestmodseq")
            sums = data.get("flagsums")
            cursor = cls(
                uidvalidity=_whole(data["uidvalidity"]),
                uidnext=_whole(data["uidnext"]),
                highestmodseq=None if modseq is None else _whole(modseq),
                uids=UidSet.parse(str(data.get("uids", ""))),
                flagsums=None if sums is None else [
                    FlagSum(_whole(lo), _whole(hi), str(digest)) for lo, hi, digest in sums
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CursorInvalidated(stream, f"unreadable IMAP cursor ({exc})") from exc
        if cursor.uids and cursor.uids.max >= cursor.uidnext:
            raise CursorInvalidated(stream, "IMAP cursor holds UIDs at or above its uidnext")
        return cursor


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a non-negative integer: {value!r}")
    return value


def flags_digest(entries: Iterable[tuple[int, list[str]]]) -> str:
    """A short digest of (uid, flags) pairs; the flags must come sorted."""
    h = hashlib.sha256()
    for uid, flags in sorted(entries):
        h.update(f"{uid}:{' '.join(flags)}\n".encode())
    return h.hexdigest()[:12]
