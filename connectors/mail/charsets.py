"""Turning mail bytes into text: charset labels as senders really write them, RFC 2047
encoded words in headers, RFC 2231 parameters and raw 8-bit header bytes.

Every function here returns text and never raises; what had to be guessed is appended to
the caller's list of problems.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header
from email.utils import collapse_rfc2231_value
from functools import lru_cache

ProblemSink = list[str]

#: Labels that say nothing about the bytes: text under them is decoded as if undeclared.
_UNDECLARED = frozenset(
    {
        "",
        "x-unknown",
        "unknown",
        "unknown-8bit",
        "x-user-defined",
        "default",
        "charset",
        "none",
        "us-ascii",
        "ascii",
        "us",
        "ansi_x3.4-1968",
        "7bit",
        "8bit",
    }
)

#: Labels Python's codec registry does not know, written as mail programs write them.
_ALIASES = {
    "cp-850": "cp850",
    "cp-1250": "cp1250",
    "cp-1251": "cp1251",
    "cp-1252": "cp1252",
    "win-1252": "cp1252",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-e": "iso8859-6",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gbk",
    "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "unicode-1-1-utf-8": "utf-8",
    "windows-874": "cp874",
}

#: Where a declared codec is a subset of what senders actually write under its name, the
#: superset decodes the same text plus what they really meant (as browsers do, WHATWG).
_SUPERSETS = {
    "iso8859-1": "cp1252",  # Outlook writes the euro sign as 0x80 under "iso-8859-1"
    "iso8859-9": "cp1254",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "tis-620": "cp874",
}

#: Text codecs that are no charsets: slow on hostile input (punycode, idna is quadratic),
#: or able to conjure characters the bytes do not hold (escape codecs).
_REFUSED = frozenset(
    {"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"}
)

_MAX_LABEL = 64
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# The charset part is bounded like _MAX_LABEL.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_SURROGATES = re.compile("[\ud800-\udfff]")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def _label(charset: str | None) -> str:
    if not charset:
        return ""
    label = charset.strip().strip("\"'").strip().lower()
    # RFC 2231 section 5 lets a language ride along: "utf-8*fi".
    return label.split("*", 1)[0]


@lru_cache(maxsize=512)
def resolve(label: str) -> str | None:
    """The codec to decode text labelled ``label`` with; "" for undeclared, None if unknown."""
    label = _label(label)
    if label in _UNDECLARED:
        return ""
    if len(label) > _MAX_LABEL:
        return None
    for candidate in (label, _ALIASES.get(label)):
        if candidate is None:
            continue
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        # bytes.decode() refuses non-text codecs (base64, rot13) itself; keep that here too.
        if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
            return None
        return _SUPERSETS.get(info.name, info.name)
    return None


def _guess(data: bytes, problems: ProblemSink, what: str) -> str:
    """Text with no usable charset: valid UTF-8 is almost never meant as anything else."""
    if data.isascii():
        return data.decode("ascii")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        problems.append(f"{what}: 8-bit text without a charset, read as utf-8")
        return text
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        problems.append(f"{what}: 8-bit text without a charset, read as utf-8 with replacement")
        return data.decode("utf-8", "replace")
    problems.append(f"{what}: 8-bit text without a charset, read as cp1252")
    return text


def decode_bytes(data: bytes, charset: str | None, problems: ProblemSink, what: str) -> str:
    """Decode ``data`` declared as ``charset``: declared (or its alias), then cp1252, then
    UTF-8 with replacement characters. Never raises."""
    label = _label(charset)
    codec = resolve(label)
    if codec == "":
        return _guess(data, problems, what)
    if codec is None:
        problems.append(f"{what}: unknown charset {label[:_MAX_LABEL]!r}")
        return _guess(data, problems, what)
    try:
        text = data.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        pass
    else:
        # UTF-7 is the one codec here whose strict decoder yields lone surrogates, which
        # neither nh3 nor PostgreSQL accept.
        return _SURROGATES.sub("\ufffd", text) if codec == "utf-7" else text
    if codec == "cp1252":
        # Latin-1 or cp1252 with one of the five bytes cp1252 leaves undefined: the rest is
        # still right, so only those bytes are replaced.
        problems.append(f"{what}: bytes undefined in {label or codec} replaced")
        return data.decode("cp1252", "replace")
    if codec == "utf-8" and _UTF8_SEQUENCE.search(data):
        # Mostly UTF-8 with a few broken bytes: keep what is readable.
        problems.append(f"{what}: invalid utf-8, broken bytes replaced")
        return data.decode("utf-8", "replace")
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        problems.append(f"{what}: not valid {codec}, read as utf-8 with replacement")
        return data.decode("utf-8", "replace")
    problems.append(f"{what}: not valid {codec}, read as cp1252")
    return text


def recover_8bit(value: str, problems: ProblemSink, what: str) -> str:
    """Header text as the stdlib parser hands it: raw 8-bit bytes are surrogate escapes.
    Turn them back into bytes and decode those as undeclared text."""
    if value.isascii():
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return _guess(raw, problems, what)


def unfold(value: str) -> str:
    """RFC 5322 unfolding, then any stray line break becomes a space."""
    if "\n" not in value and "\r" not in value:
        return value
    return _LINE_BREAKS.sub(" ", _FOLD.sub("", value))


def _decode_run(words: list[str], problems: ProblemSink, what: str) -> str:
    """Adjacent encoded words. Those in one charset are joined as bytes before decoding,
    so that a multi-byte character split across two words survives."""
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    for word in words:
        try:
            # One word per call: decode_header glues a whole run by repeated bytes
            # concatenation, quadratic over a header of thousands of words.
            ((chunk, charset),) = decode_header(word)
        except Exception:
            chunk, charset = word, None
        if isinstance(chunk, str):  # undecodable: kept as written
            problems.append(f"{what}: undecodable encoded word kept as is")
            if pending:
                out.append(decode_bytes(b"".join(pending), pending_charset, problems, what))
                pending = []
            out.append(chunk)
            continue
        if pending and charset != pending_charset:
            out.append(decode_bytes(b"".join(pending), pending_charset, problems, what))
            pending = []
        pending.append(chunk)
        pending_charset = charset
    if pending:
        out.append(decode_bytes(b"".join(pending), pending_charset, problems, what))
    return "".join(out)


def decode_header_value(value: str, problems: ProblemSink, what: str) -> str:
    """A raw header value (from ``Message.raw_items``) as text: 8-bit bytes recovered,
    unfolded, RFC 2047 encoded words decoded. Linear in the length of ``value``."""
    text = unfold(recover_8bit(value, problems, what))
    if "=?" not in text:
        return text
    out: list[str] = []
    run: list[str] = []
    last = 0
    # Our own linear pattern finds the words: the stdlib's own pattern backtracks
    # quadratically over a long header full of "=?" that never closes.
    for match in _ENCODED_WORD.finditer(text):
        gap = text[last : match.start()]
        if run and (not gap or gap.isspace()):
            run.append(match.group(0))  # RFC 2047: space between encoded words is dropped
        else:
            if run:
                out.append(_decode_run(run, problems, what))
            out.append(gap)
            run = [match.group(0)]
        last = match.end()
    if run:
        out.append(_decode_run(run, problems, what))
    out.append(text[last:])
    return "".join(out)


Param = str | tuple[str | None, str | None, str] | None


def decode_param(value: Param, problems: ProblemSink, what: str) -> str:
    """A MIME parameter as ``Message.get_param`` returns it: RFC 2231 triples are decoded
    with their declared charset (through the fallback chain); plain values may still hold
    RFC 2047 encoded words, as Outlook and Gmail write file names."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        charset, _language, text = value
        try:
            # get_param unquotes %XX into code points below 256: one per original byte.
            raw = text.encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogateescape")
        return unfold(decode_bytes(raw, charset, problems, what))
    return decode_header_value(collapse_rfc2231_value(value), problems, what)
