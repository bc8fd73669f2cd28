"""The items the IMAP connector yields, built from FETCH answers.

Three shapes share one key, ``external_id = "<uidvalidity>:<uid>"`` in stream
``mail:<folder>``:

* ``kind="message"``: the message itself (raw bytes, flags, size; ``occurred_at`` is its
  INTERNALDATE, when the server received it). The connector does not parse it: the hub
  files it after the fetch, so the connection is held only as long as reading takes.
* ``kind="flags"``: only ``data["flags"]`` changed. The hub sets the stored message's
  flags from it and leaves everything else (raw, parsed, occurred_at) as it was; it is
  never stored as an item of its own. ``occurred_at`` is when the change was seen.
* ``kind="message", deleted=True``: the message is gone from the folder (expunged or
  moved away; a move shows up as a new message in the target folder). ``data`` holds
  only the folder and UID; ``occurred_at`` is when the deletion was seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.sync.protocol import Item

# \Recent belongs to one session, not to the message: it would look like a flag change
# on every sync.
_SESSION_FLAGS = {"\\recent"}
_RECENT = (b"\\Recent", b"\\RECENT", b"\\recent")


def external_id(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"


def flag_list(fetched: Mapping[bytes, Any]) -> list[str]:
    raw = fetched.get(b"FLAGS", ())
    if not raw or (len(raw) == 1 and raw[0] in _RECENT):
        return []  # most new mail: no flags at all, or only this session's \Recent
    flags = {f.decode("utf-8", "replace") if isinstance(f, bytes) else str(f) for f in raw}
    return sorted(f for f in flags if f.lower() not in _SESSION_FLAGS)


def message_item(
    stream: str,
    folder: str,
    uidvalidity: int,
    uid: int,
    fetched: Mapping[bytes, Any],
    *,
    headers_only: bool,
) -> Item:
    raw = fetched.get(b"BODY[HEADER]" if headers_only else b"BODY[]")
    raw_bytes = bytes(raw) if raw is not None else None
    internaldate = fetched.get(b"INTERNALDATE")
    if isinstance(internaldate, datetime) and internaldate.tzinfo is None:
        internaldate = internaldate.replace(tzinfo=UTC)
    # When the server received it: the Date header, read at filing, says when it was sent.
    occurred_at = internaldate if isinstance(internaldate, datetime) else datetime.now(UTC)
    return Item(
        stream=stream,
        external_id=external_id(uidvalidity, uid),
        kind="message",
        occurred_at=occurred_at,
        data={
            "folder": folder,
            "uid": uid,
            "uidvalidity": uidvalidity,
            "flags": flag_list(fetched),
            "size": int(fetched.get(b"RFC822.SIZE", len(raw_bytes or b""))),
            # False when the server gave no INTERNALDATE: occurred_at is then fetch time.
            "received": isinstance(internaldate, datetime),
            "raw": raw_bytes,
            "headers_only": headers_only,
        },
    )


def flags_item(stream: str, folder: str, uidvalidity: int, uid: int, flags: list[str],
               seen_at: datetime) -> Item:
    return Item(
        stream=stream,
        external_id=external_id(uidvalidity, uid),
        kind="flags",
        occurred_at=seen_at,
        data={"folder": folder, "uid": uid, "uidvalidity": uidvalidity, "flags": flags},
    )


def deleted_item(stream: str, folder: str, uidvalidity: int, uid: int,
                 seen_at: datetime) -> Item:
    return Item(
        stream=stream,
        external_id=external_id(uidvalidity, uid),
        kind="message",
        occurred_at=seen_at,
        data={"folder": folder, "uid": uid, "uidvalidity": uidvalidity},
        deleted=True,
    )
