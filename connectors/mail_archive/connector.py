"""The mail-archive connector: mail from local files, filed by the same path as IMAP's.

The archive is read in a fixed order (sorted file names, Maildir keys, mbox positions)
and the cursor is the number of messages done, so an interrupted import resumes where it
stopped. An item's external id is the SHA-256 of its bytes: importing the same archive
twice, or two archives that share messages, never duplicates anything.
"""

from __future__ import annotations

import hashlib
import mailbox
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from hub.sync.protocol import Checkpoint, Item, SourceError

STREAM = "archive"
_HEAD = 64 * 1024
_DATE = re.compile(rb"^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def sent_at(raw: bytes) -> datetime | None:
    """The Date header, read from the header block alone: the record's time. Filing
    parses the whole message and takes its date from there."""
    head = raw[:_HEAD]
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0),
              default=len(head))
    match = _DATE.search(head, 0, end)
    if match is None:
        return None
    try:
        when = parsedate_to_datetime(match.group(1).decode("latin-1").strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class MailArchiveConnector:
    def __init__(self, path: str | Path, *, batch_size: int = 200) -> None:
        self.path = Path(path)
        self.batch_size = batch_size

    def streams(self) -> Iterable[str]:
        return [STREAM]

    def check(self) -> None:
        if not self.path.exists():
            raise SourceError(f"{self.path} does not exist; give the path of an mbox file, a "
                              "Maildir or a folder of .eml files")
        self._kind()

    def _kind(self) -> str:
        if self.path.is_file():
            return "mbox"
        if all((self.path / d).is_dir() for d in ("cur", "new")):
            return "maildir"
        if self.path.is_dir():
            return "eml"
        raise SourceError(f"{self.path} is neither a file nor a folder")

    def _messages(self) -> Iterator[tuple[str, bytes]]:
        """(location, raw bytes) in a fixed order."""
        kind = self._kind()
        if kind == "eml":
            for file in sorted(self.path.rglob("*.eml")):
                yield str(file.relative_to(self.path)), file.read_bytes()
        elif kind == "maildir":
            box = mailbox.Maildir(self.path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"maildir:{key}", box.get_bytes(key)
        else:
            mbox = mailbox.mbox(self.path, factory=None, create=False)
            try:
                for index, key in enumerate(mbox.iterkeys()):
                    yield f"mbox:{index}", mbox.get_bytes(key)
            finally:
                mbox.close()

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        self.check()
        start = int(cursor.get("position", 0)) if cursor else 0
        position = 0
        for position, (location, raw) in enumerate(self._messages(), start=1):
            if position <= start:
                continue
            yield Item(
                stream=stream,
                external_id=hashlib.sha256(raw).hexdigest(),
                kind="message",
                occurred_at=sent_at(raw) or datetime.now(UTC),
                data={"folder": self.path.name, "path": location, "raw": raw,
                      "headers_only": False, "flags": []},
            )
            if position % self.batch_size == 0:
                yield Checkpoint(stream, {"position": position})
        yield Checkpoint(stream, {"position": max(position, start)})
