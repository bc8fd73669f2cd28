"""Reading the FETCH answers of a sync: the few flat shapes the connector asks for.

imapclient's parser reads any IMAP answer, token by token, in Python; for a FETCH of many
message bodies that lexer was a sixth of a whole initial sync, and imaplib's line-by-line
reading, which files every line through several regular expressions, another tenth. The
answers this connector asks for have one flat shape - ``UID``, ``RFC822.SIZE``,
``FLAGS``, ``INTERNALDATE``, ``MODSEQ`` and at most one ``BODY[...]`` literal - that one
regular expression per message reads.

:func:`read_fetch` reads a FETCH command's answers off the connection itself, but only
lines that start as a FETCH answer; every other line (the completion, EXISTS, VANISHED,
BYE) it leaves to imaplib, which files it as always. Anything not of the flat shape (a
nested list, a second literal, NIL, an item nobody asked for) goes, in imaplib's own data
shape, to :func:`parse_fetch` and from there to imapclient's parser, which stays the
reference: all give the same dictionaries (``tests/connectors/test_imap_fetch.py``).
"""

from __future__ import annotations

import imaplib
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from imapclient.response_parser import parse_fetch_response

_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
     b"Dec"), start=1)}
# One attribute of a flat FETCH answer: a number, a list of flags, a quoted string, or
# (last before a literal) the literal's announced size.
_ATTR = re.compile(
    rb' ?(UID|RFC822\.SIZE|FLAGS|INTERNALDATE|MODSEQ|BODY\[(?:HEADER)?\])'
    rb' (?:(\d+)|\(([^()"{}]*)\)|"([^"\\]*)"|\{(\d+)\}$)')
_HEAD = re.compile(rb"(\d+) \(")
_DATE = re.compile(rb"\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")
_ZONES: dict[bytes, timezone] = {}


# The common answer to the connector's body FETCH, in the order servers give it.
_BODY_ANSWER = re.compile(
    rb'\* (\d+) FETCH \(UID (\d+) RFC822\.SIZE (\d+) FLAGS \(([^()"{}]*)\) '
    rb'INTERNALDATE "([^"\\]*)"(?: MODSEQ \((\d+)\))? (BODY\[(?:HEADER)?\]) \{(\d+)\}\r\n\Z')
_FETCH_START = re.compile(rb"\* (\d+) FETCH \(")
_LITERAL = re.compile(rb"\{(\d+)\}\Z")
_MAXLINE = 1_000_000  # imaplib's own limit on a line


class _NotFlat(Exception):
    """This answer is not of the flat shape: imapclient reads it."""


def parse_fetch(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    """imaplib's ``UID FETCH`` data as imapclient's ``parse_fetch_response`` gives it
    (keyed by sequence number), the common shapes read fast."""
    try:
        return _flat(data)
    except _NotFlat:
        return dict(parse_fetch_response(data, False, False))


def _flat(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    out: dict[int, dict[bytes, Any]] = {}
    current: dict[bytes, Any] | None = None  # an answer whose literal came last so far
    for element in data:
        if isinstance(element, tuple):
            if len(element) != 2:
                raise _NotFlat
            head, literal = element
            current = _start(head, out)
            key = _attrs(head[head.index(b"(") + 1:], current, literal=True)
            if key is None:
                raise _NotFlat
            current[key] = literal
        elif isinstance(element, bytes):
            if current is not None:  # the rest of an answer after its literal
                if not element.endswith(b")"):
                    raise _NotFlat
                _attrs(element[:-1], current, literal=False)
                current = None
            else:  # an answer without a literal, whole
                answer = _start(element, out)
                body = element[element.index(b"(") + 1:]
                if not body.endswith(b")"):
                    raise _NotFlat
                _attrs(body[:-1], answer, literal=False)
        else:
            raise _NotFlat
    if current is not None:
        raise _NotFlat
    return out


def _start(head: bytes, out: dict[int, dict[bytes, Any]]) -> dict[bytes, Any]:
    match = _HEAD.match(head)
    if match is None:
        raise _NotFlat
    seq = int(match.group(1))
    if seq in out:  # two answers for one message (an unsolicited FLAGS): imapclient merges
        raise _NotFlat
    answer: dict[bytes, Any] = {b"SEQ": seq}
    out[seq] = answer
    return answer


def _attrs(text: bytes, into: dict[bytes, Any], *, literal: bool) -> bytes | None:
    """Read ``text`` into ``into``; the key of a trailing literal, if ``literal``."""
    pos, end = 0, len(text)
    while pos < end:
        match = _ATTR.match(text, pos)
        if match is None:
            raise _NotFlat
        key, number, flags, quoted, size = match.groups()
        if size is not None:
            if not literal or match.end() != end:
                raise _NotFlat
            return key
        if number is not None:
            if key not in (b"UID", b"RFC822.SIZE"):
                raise _NotFlat
            into[key] = int(number)
        elif flags is not None:
            if key == b"FLAGS":
                into[key] = tuple(flags.split())
            elif key == b"MODSEQ" and flags.isdigit():
                into[key] = (int(flags),)
            else:
                raise _NotFlat
        elif key == b"INTERNALDATE":
            into[key] = _internaldate(quoted)
        else:
            raise _NotFlat
        pos = match.end()
    if literal:
        raise _NotFlat
    return None


def _internaldate(text: bytes) -> datetime:
    match = _DATE.match(text)
    if match is None or match.group(2).capitalize() not in _MONTHS:
        raise _NotFlat
    day, month, year, hh, mm, ss, sign, zh, zm = match.groups()
    offset = sign + zh + zm
    zone = _ZONES.get(offset)
    if zone is None:
        minutes = int(zh) * 60 + int(zm)
        zone = _ZONES[offset] = timezone(timedelta(minutes=-minutes if sign == b"-" else minutes))
    return datetime(int(year), _MONTHS[month.capitalize()], int(day), int(hh), int(mm), int(ss),
                    tzinfo=zone)


Answers = dict[int, dict[bytes, Any]]


def _reader(imap: imaplib.IMAP4) -> io.BufferedReader:
    # imaplib reads the socket's makefile("rb"), a buffered reader of bytes; typeshed
    # types the attribute as text or bytes.
    return cast(io.BufferedReader, imap.file)


def read_fetch(imap: imaplib.IMAP4, tag: bytes,
               answers: Answers | None = None) -> tuple[str, list[Any], Answers]:
    """Read until the command ``tag`` completes: (status, completion data, answers by
    UID), the answers merged into ``answers`` when given (answers kept from earlier
    commands). FETCH answers are read here; every other line through imaplib.

    Answers are merged by UID, never by sequence number: numbers shift when mail is
    expunged meanwhile, and an answer imaplib kept from an earlier command (a flag
    change another session made) must not be merged into a different message. An
    answer without a UID cannot be told apart and is dropped; earlier ones count least."""
    file = _reader(imap)
    if answers is None:
        answers = {}

    def merge(answer: dict[bytes, Any]) -> None:
        uid = answer.get(b"UID")
        if uid is not None:
            answers[uid] = {**answers[uid], **answer} if uid in answers else answer

    for answer in parse_fetch(imap.untagged_responses.pop("FETCH", [])).values():
        merge(answer)
    others: list[Any] = []
    while True:
        result = imap.tagged_commands.get(tag)
        if result is not None:
            del imap.tagged_commands[tag]
            others += imap.untagged_responses.pop("FETCH", [])
            if others:
                for answer in parse_fetch(others).values():
                    merge(answer)
            # imaplib files a completion as (status, data); typeshed says a list of bytes.
            status, completion = cast(tuple[str, list[Any]], result)
            return status, completion, answers
        if not _FETCH_START.match(file.peek(64)):
            imap._check_bye()  # private, reached through IMAP4.__getattr__ in typeshed
            imap._get_response()
            continue
        line = file.readline(_MAXLINE + 1)
        if len(line) > _MAXLINE or not line.endswith(b"\r\n"):
            raise imap.abort(f"socket error: {'line too long' if line else 'EOF'} in FETCH")
        fast = _BODY_ANSWER.match(line)
        if fast is not None:
            literal = _exact(imap, int(fast.group(8)))
            trailer = file.readline(_MAXLINE + 1)
            if trailer == b")\r\n":
                try:
                    answer = _body_answer(fast, literal)
                except _NotFlat:
                    pass
                else:
                    merge(answer)
                    continue
            others.append((_as_imaplib(line), literal))
            _rest(imap, trailer, others)
            continue
        _rest(imap, line, others, first=True)


def _body_answer(match: re.Match[bytes], literal: bytes) -> dict[bytes, Any]:
    seq, uid, size, flags, date, modseq, key, _ = match.groups()
    answer: dict[bytes, Any] = {b"SEQ": int(seq), b"UID": int(uid), b"RFC822.SIZE": int(size),
                                b"FLAGS": tuple(flags.split()),
                                b"INTERNALDATE": _internaldate(date), key: literal}
    if modseq is not None:
        answer[b"MODSEQ"] = (int(modseq),)
    return answer


def _as_imaplib(line: bytes) -> bytes:
    """"* 7 FETCH (...)\r\n" as imaplib files it: "7 (...)"."""
    seq, _, rest = line[2:].removesuffix(b"\r\n").partition(b" FETCH ")
    return seq + b" " + rest


def _rest(imap: imaplib.IMAP4, line: bytes, into: list[Any], *, first: bool = False) -> None:
    """An answer (or the rest of one after a literal) in imaplib's data shape: literal
    by literal, as imaplib's own reader would file it."""
    text = _as_imaplib(line) if first else line.removesuffix(b"\r\n")
    while (literal := _LITERAL.search(text)) is not None:
        into.append((text, _exact(imap, int(literal.group(1)))))
        following = _reader(imap).readline(_MAXLINE + 1)
        if len(following) > _MAXLINE or not following.endswith(b"\r\n"):
            raise imap.abort("socket error: EOF in FETCH")
        text = following.removesuffix(b"\r\n")
    into.append(text)


def _exact(imap: imaplib.IMAP4, size: int) -> bytes:
    data = _reader(imap).read(size)
    if len(data) != size:
        raise imap.abort("socket error: EOF in the middle of a message")
    return data
