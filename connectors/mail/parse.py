"""The pure mail parser: one message's raw bytes in, a :class:`ParsedMail` out, no I/O.

``parse_message`` never raises. The raw bytes go through the pre-scan
(:mod:`connectors.mail.prescan`) before the stdlib parser sees them; this module then
reads the headers, walks the MIME tree deciding which parts are bodies and which are
attachments (each part read by :mod:`connectors.mail.parts`), and makes the result safe to
store. Whatever a cap cuts off is reported in ``problems``; a message that cannot be
parsed at all comes back with ``failed=True`` and the headers that could be salvaged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from connectors.mail.charsets import decode_header_value, decode_param, recover_8bit, unfold
from connectors.mail.model import Address, Attachment, Limits, ParsedMail
from connectors.mail.parts import CONTROL, MAX_ID, decode_body, prepare_part
from connectors.mail.parts import attachment as _attachment
from connectors.mail.prescan import cap_header_block
from connectors.mail.prescan import prescan as _prescan
from connectors.mail.sanitize import collapse_whitespace, sanitize_html, snippet, text_from_html

# The pre-scan and the attachment reader keep private names in this module: the parser must
# survive either of them failing, and the tests make them fail by replacing these names.

__all__ = ["parse_message"]

# compat32 measured about five times faster than policy.default on real mail, and its
# header objects are not needed: headers are decoded here, from the raw values.
_PARSER = BytesParser(policy=compat32)

_MAX_ADDRESS_HEADER = 32 * 1024
_MAX_ADDRESSES = 1000
_MAX_SIMPLE = 512
_MAX_REFERENCES = 100
_MAX_SUBJECT = 2000
_MAX_PROBLEMS = 50
_SNIPPET = 200

_ID = re.compile(r"<([^<>\s]+)>")
_ADDR_SPEC = r"[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+"
_SIMPLE_ADDRESS = re.compile(
    rf'\s*(?:(?:"([^"\\]*)"|([^\s<>()\[\]\\,;:@"][^<>()\[\]\\,;:@"]*?))?\s*<({_ADDR_SPEC})>'
    rf"|({_ADDR_SPEC}))\s*"
)
# Output goes to PostgreSQL text columns, which take neither NUL nor lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# --- headers -------------------------------------------------------------------------------


@dataclass
class _Draft:
    """What has been read so far, so that a failure later on keeps it."""

    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    auto_submitted: bool = False
    headers_read: bool = False


_WANTED = frozenset(
    {
        "message-id",
        "in-reply-to",
        "references",
        "subject",
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "date",
        "auto-submitted",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "content-type",
        "content-disposition",
        "content-id",
    }
)


def _header_map(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key in _WANTED:
            headers.setdefault(key, []).append(str(value))
    return headers


def _ids(value: str, problems: list[str]) -> list[str]:
    text = unfold(recover_8bit(value, problems, "message id"))
    ids = _ID.findall(text)
    if not ids:
        ids = [token.strip("<>,;") for token in text.split()]
    return list(dict.fromkeys(i[:MAX_ID] for i in ids if i))


def _one_line(value: str, problems: list[str], what: str) -> str:
    text = decode_header_value(value, problems, what)
    if not text.isprintable():
        text = CONTROL.sub("", text)
    return collapse_whitespace(text)


def _plain_addresses(raw: str) -> list[tuple[str, str]] | None:
    """Plain addresses separated by commas, as most headers hold: what getaddresses would
    say, in a fraction of the time. None when anything is less plain."""
    pieces = raw.split(",") if '"' not in raw else [raw]
    pairs: list[tuple[str, str]] = []
    for piece in pieces:
        if not piece or piece.isspace():
            continue
        # The pattern backtracks over runs of spaces: only short pieces try it.
        match = _SIMPLE_ADDRESS.fullmatch(piece) if len(piece) <= _MAX_SIMPLE else None
        if match is None:
            return None
        pairs.append((match.group(1) or match.group(2) or "", match.group(3) or match.group(4)))
    return pairs


def _addresses(values: list[str] | None, problems: list[str], what: str) -> list[Address]:
    if not values:
        return []
    raw = ", ".join(unfold(recover_8bit(v, problems, what)) for v in values)
    if len(raw) > _MAX_ADDRESS_HEADER:
        problems.append(f"{what}: over {_MAX_ADDRESS_HEADER} characters, rest ignored")
        raw = raw[:_MAX_ADDRESS_HEADER]
    pairs = _plain_addresses(raw)
    if pairs is None:
        try:
            # Parsed before RFC 2047 decoding: a decoded name may hold commas or quotes.
            pairs = getaddresses([raw])
        except Exception:  # the stdlib recurses on nested comments: "((((((..."
            problems.append(f"{what}: unparsable address list")
            return []
    out: list[Address] = []
    for name, address in pairs[:_MAX_ADDRESSES]:
        name = _one_line(name, problems, what)
        address = collapse_whitespace(address)
        if "@" not in address:
            name, address = name or address, ""
        if name or address:
            out.append(Address(name=name, address=address.lower()))
    if len(pairs) > _MAX_ADDRESSES:
        problems.append(f"{what}: over {_MAX_ADDRESSES} addresses, rest ignored")
    return out


def _date(value: str, problems: list[str]) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(unfold(recover_8bit(value, problems, "Date")).strip())
    except Exception:
        problems.append("Date: unparsable")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _auto_submitted(headers: dict[str, list[str]]) -> bool:
    auto = headers.get("auto-submitted", [""])[0].lower()
    if auto.strip() and auto.split(";", 1)[0].split("(", 1)[0].strip() != "no":
        return True
    if headers.get("precedence", [""])[0].strip().lower() in {"bulk", "list", "junk"}:
        return True
    return any(headers.get(name, [""])[0].strip() for name in ("list-id", "list-unsubscribe"))


def _read_headers(message: Message, draft: _Draft, problems: list[str]) -> dict[str, list[str]]:
    """Fill the draft's header fields; the headers read, for the body to reuse."""
    headers = _header_map(message)
    draft.headers_read = bool(message.keys())

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    if (value := first("message-id")) is not None:
        draft.message_id = next(iter(_ids(value, problems)), "")
    if (value := first("in-reply-to")) is not None:
        draft.in_reply_to = _ids(value, problems)
    if (value := first("references")) is not None:
        refs = _ids(value, problems)
        # The root and the nearest ancestors are what threading needs.
        if len(refs) > _MAX_REFERENCES:
            refs = [refs[0], *refs[1 - _MAX_REFERENCES :]]
        draft.references = refs
    if (value := first("subject")) is not None:
        subject = _one_line(value, problems, "Subject")
        if len(subject) > _MAX_SUBJECT:
            problems.append(f"Subject: over {_MAX_SUBJECT} characters, cut")
        draft.subject = subject[:_MAX_SUBJECT]
    senders = _addresses(headers.get("from"), problems, "From")
    draft.sender = senders[0] if senders else None
    draft.to = _addresses(headers.get("to"), problems, "To")
    draft.cc = _addresses(headers.get("cc"), problems, "Cc")
    draft.bcc = _addresses(headers.get("bcc"), problems, "Bcc")
    draft.reply_to = _addresses(headers.get("reply-to"), problems, "Reply-To")
    if (value := first("date")) is not None:
        draft.date = _date(value, problems)
    draft.auto_submitted = _auto_submitted(headers)
    return headers


# --- bodies and attachments ----------------------------------------------------------------


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _read_bodies(
    message: Message, headers: dict[str, list[str]], limits: Limits, problems: list[str]
) -> _Bodies:
    bodies = _Bodies()
    todo: list[tuple[Message, str]] = [(message, "")]
    leaves = 0
    while todo:
        part, parent = todo.pop()
        try:
            info = prepare_part(part, problems, headers if part is message else None)
            # is_multipart() first: get_payload() on a leaf would decode it to text.
            if part.is_multipart() and not info.ctype.startswith("message/"):
                subs = [sub for sub in part.get_payload() if isinstance(sub, Message)]
                todo.extend((sub, info.ctype) for sub in reversed(subs))
                continue
            leaves += 1
            if leaves > limits.max_parts:
                problems.append(f"more than {limits.max_parts} parts: rest not read")
                break
            if info.ctype.startswith("multipart/"):
                problems.append(f"{info.ctype} part without readable parts")
                continue
            filename = decode_param(
                info.disposition_params.get("filename"), problems, "file name"
            ) or decode_param(info.params.get("name"), problems, "file name")
            is_body = (
                info.ctype in ("text/plain", "text/html")
                and info.disposition != "attachment"
                and not filename
            )
            if is_body:
                found = bodies.plain if info.ctype == "text/plain" else bodies.html
                # A second body part is an alternative to skip, or (in multipart/mixed, as
                # mailing-list footers and Apple Mail's split HTML are) a continuation.
                if not found or parent != "multipart/alternative":
                    found.append(decode_body(part, info, limits, problems))
                continue
            index = len(bodies.attachments) + 1
            bodies.attachments.append(_attachment(part, info, filename, index))
        except Exception as exc:  # one broken part must not cost the rest of the message
            problems.append(f"unreadable MIME part: {type(exc).__name__}")
    return bodies


def _fill_bodies(draft: _Draft, bodies: _Bodies, limits: Limits, problems: list[str]) -> None:
    draft.attachments = bodies.attachments
    cap = limits.max_text_chars
    html = "\n".join(bodies.html)
    if len(html) > cap:
        problems.append(f"HTML body over {cap} characters: cut")
        html = html[:cap]
    draft.html = sanitize_html(html)
    text = "\n\n".join(t.rstrip() for t in bodies.plain).replace("\r\n", "\n")
    if not text.strip() and draft.html:
        text = text_from_html(draft.html)
    if len(text) > cap:
        problems.append(f"text body over {cap} characters: cut")
        text = text[:cap]
    draft.text = text


# --- the entry point -----------------------------------------------------------------------


def _salvage_headers(data: bytes, limits: Limits, draft: _Draft, problems: list[str]) -> None:
    if draft.headers_read:
        return
    try:
        head = cap_header_block(data[: limits.max_header_bytes], limits, [])
        _read_headers(_PARSER.parsebytes(head, headersonly=True), draft, problems)
    except Exception as exc:
        problems.append(f"headers not salvageable: {type(exc).__name__}")


def _scrub(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return _UNSTORABLE.sub("", text)


def _scrub_nul(text: str) -> str:
    # Bodies come from decode_bytes, which leaves no surrogates: only NUL can be there.
    return text.replace("\x00", "") if "\x00" in text else text


def _scrub_address(address: Address) -> Address:
    name, addr = _scrub(address.name), _scrub(address.address)
    if name == address.name and addr == address.address:
        return address
    return Address(name=name, address=addr)


def _finish(draft: _Draft, problems: list[str], failed: bool) -> ParsedMail:
    text = _scrub_nul(draft.text)
    return ParsedMail(
        message_id=_scrub(draft.message_id),
        in_reply_to=[_scrub(i) for i in draft.in_reply_to],
        references=[_scrub(i) for i in draft.references],
        subject=_scrub(draft.subject),
        sender=_scrub_address(draft.sender) if draft.sender else None,
        to=[_scrub_address(a) for a in draft.to],
        cc=[_scrub_address(a) for a in draft.cc],
        bcc=[_scrub_address(a) for a in draft.bcc],
        reply_to=[_scrub_address(a) for a in draft.reply_to],
        date=draft.date,
        text=text,
        snippet=snippet(text, _SNIPPET),
        html=_scrub_nul(draft.html),
        attachments=draft.attachments,
        auto_submitted=draft.auto_submitted,
        problems=list(dict.fromkeys(p[:300] for p in problems))[:_MAX_PROBLEMS],
        failed=failed,
    )


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMail:
    """Parse one message. Never raises: on failure ``failed`` is True, ``problems`` says
    why and the header fields hold whatever could be read."""
    draft = _Draft()
    problems: list[str] = []
    data = raw
    try:
        if not raw or raw.isspace():
            problems.append("empty message")
            return _finish(draft, problems, failed=True)
        data = _prescan(raw, limits, problems)
        message = _PARSER.parsebytes(data)
        headers = _read_headers(message, draft, problems)
        if not draft.headers_read:
            problems.append("no header fields: not a mail message")
            return _finish(draft, problems, failed=True)
        bodies = _read_bodies(message, headers, limits, problems)
        _fill_bodies(draft, bodies, limits, problems)
        return _finish(draft, problems, failed=False)
    except Exception as exc:
        problems.append(f"could not parse message: {type(exc).__name__}: {exc}")
        _salvage_headers(data, limits, draft, problems)
        try:
            return _finish(draft, problems, failed=True)
        except Exception:
            return _finish(_Draft(), ["could not parse message"], failed=True)
