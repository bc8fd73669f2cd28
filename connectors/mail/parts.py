"""Reading one MIME part once the stdlib has parsed it: what the part says about itself
(content type, disposition, parameters, Content-ID), its decoded text, and the attachment
record (size and hash) for a part that is not a body.

Which parts are bodies and which attachments is the parser's decision; this module only
reads the part it is given. Every header value is bounded before the stdlib parses its
parameters, for the same reason the pre-scan bounds the raw bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32

from connectors.mail.charsets import Param, decode_bytes, recover_8bit, unfold
from connectors.mail.model import Attachment, Limits
from connectors.mail.prescan import MAX_PARAM_HEADER, MAX_PARAMS, cap_params
from connectors.mail.sanitize import display_filename

__all__ = ["CONTROL", "MAX_ID", "Part", "attachment", "decode_body", "prepare_part"]

MAX_ID = 998
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTENT_TYPE_VALUE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_PART_HEADERS = frozenset({"content-type", "content-disposition", "content-id"})


@dataclass
class Part:
    """What a part says about itself, read once from its headers."""

    ctype: str
    disposition: str | None
    params: dict[str, Param]  # of Content-Type, RFC 2231 already merged by the stdlib
    disposition_params: dict[str, Param]
    content_id: str


def _params(value: str) -> dict[str, Param]:
    """The parameters of a prepared Content-Type or Content-Disposition value, parsed by
    the stdlib (RFC 2231 continuations and charsets included) on a message holding just
    that one header: on the part itself each lookup would walk all its headers again."""
    probe = Message(policy=compat32)
    probe.set_raw("Content-Type", value)
    pairs = probe.get_params() or []
    return {name: value for name, value in reversed(pairs[1:])}  # the first one wins


def _main_value(value: str | None) -> str | None:
    # What get_content_type and get_content_disposition look at, read from values in hand:
    # each of their calls would walk all of the part's headers again.
    return value.split(";", 1)[0].strip().lower() if value is not None else None


def prepare_part(
    part: Message, problems: list[str], known: dict[str, list[str]] | None = None
) -> Part:
    """Read what a part says about itself; Content-Type and Content-Disposition decoded,
    unfolded and bounded before their parameters are parsed. ``known`` holds the part's
    headers when they have been read already."""
    headers: dict[str, str] = {}
    if known is None:
        for name, value in part.raw_items():
            key = name.lower()
            if key in _PART_HEADERS and key not in headers:
                headers[key] = str(value)
    else:
        headers = {key: known[key][0] for key in _PART_HEADERS if key in known}
    for name, label in (
        ("content-type", "Content-Type"),
        ("content-disposition", "Content-Disposition"),
    ):
        raw = headers.get(name)
        if raw is None:
            continue
        value = unfold(recover_8bit(raw, problems, label))
        if value.count(";") > MAX_PARAMS or len(value) > MAX_PARAM_HEADER:
            value, lost = cap_params(value)
            if lost:
                problems.append(f"{label} with over {MAX_PARAMS} parameters: cut")
        headers[name] = value
    ctype = _main_value(headers.get("content-type"))
    if ctype is None:
        ctype = part.get_default_type()  # as get_content_type does, in multipart/digest too
    elif ctype.count("/") != 1:
        ctype = "text/plain"
    content_id = unfold(recover_8bit(headers.get("content-id", ""), problems, "Content-ID"))
    return Part(
        ctype=ctype if _CONTENT_TYPE_VALUE.fullmatch(ctype) else "application/octet-stream",
        disposition=_main_value(headers.get("content-disposition")),
        params=_params(headers["content-type"]) if "content-type" in headers else {},
        disposition_params=(
            _params(headers["content-disposition"]) if "content-disposition" in headers else {}
        ),
        content_id=CONTROL.sub("", content_id).strip().strip("<>").strip()[:MAX_ID],
    )


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _flatten(part: Message, out: list[bytes]) -> None:
    """An enclosed message as parsed, for its size and hash: its raw header lines and its
    decoded bodies. The stdlib keeps no original bytes, and its generator refolds every
    header line (seconds on one hostile header); nesting depth is bounded by the caps."""
    for name, value in part.raw_items():
        out.append(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
    out.append(b"\n")
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _flatten(sub, out)
    else:
        out.append(_payload_bytes(part))


def _message_bytes(part: Message) -> bytes:
    out: list[bytes] = []
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _flatten(sub, out)
    else:
        out.append(_payload_bytes(part))
    return b"".join(out)


def decode_body(part: Message, info: Part, limits: Limits, problems: list[str]) -> str:
    """The part's payload as text in its declared charset, cut first to four bytes for
    each character ``max_text_chars`` allows."""
    data = _payload_bytes(part)
    if len(data) > limits.max_text_chars * 4:
        problems.append(f"{info.ctype} part over {limits.max_text_chars * 4} bytes: cut")
        data = data[: limits.max_text_chars * 4]
    charset = info.params.get("charset")
    if isinstance(charset, tuple):
        charset = charset[2]
    return decode_bytes(data, charset, problems, f"{info.ctype} part").lstrip("\ufeff")


def attachment(part: Message, info: Part, filename: str, index: int) -> Attachment:
    """The record of a part that is not a body: display name, type, and the size and hash
    of its decoded content (of an enclosed message, as parsed)."""
    message = info.ctype.startswith("message/")
    data = _message_bytes(part) if message else _payload_bytes(part)
    return Attachment(
        filename=display_filename(filename, index),
        content_type=info.ctype,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        # Without a disposition, a Content-ID means an image the HTML refers to.
        inline=info.disposition == "inline" or (info.disposition is None and bool(info.content_id)),
        content_id=info.content_id,
    )
