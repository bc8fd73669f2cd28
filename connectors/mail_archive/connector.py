"""The mail-archive connector: the same parsing path as IMAP, read from local files.

The archive is read in a fixed order (sorted file names, Maildir keys, mbox positions)
and the cursor is the number of messages done, so an interrupted import resumes where it
stopped. An item's external id is the SHA-256 of its bytes: importing the same archive
twice, or two archives that share messages, never duplicates anything.
"""

from __future__ import annotations

import hashlib
import mailbox
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.mail.model import Limits
from connectors.mail.parse import parse_message
from hub.sync.protocol import Checkpoint, Item, SourceError

STREAM = "archive"


class MailArchiveConnector:
    def __init__(self, path: str | Path, *, batch_size: int = 200,
                 limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self.limits = limits or Limits()

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
            parsed = parse_message(raw, self.limits)
            when = parsed.date or datetime.now(UTC)
            yield Item(
                stream=stream,
                external_id=hashlib.sha256(raw).hexdigest(),
                kind="message",
                occurred_at=when,
                data={"folder": self.path.name, "path": location, "raw": raw,
                      "headers_only": False, "flags": [], "parsed": parsed.as_dict()},
            )
            if position % self.batch_size == 0:
                yield Checkpoint(stream, {"position": position})
        yield Checkpoint(stream, {"position": max(position, start)})
