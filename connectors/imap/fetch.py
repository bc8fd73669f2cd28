"""Reading the FETCH answers of a sync: the few flat shapes the connector asks for.

imapclient's parser reads any IMAP answer, token by token, in Python; for a FETCH of many
message bodies that lexer was a sixth of a whole initial sync. The answers this connector
asks for have one flat shape - ``UID``, ``RFC822.SIZE``, ``FLAGS``, ``INTERNALDATE``,
``MODSEQ`` and at most one ``BODY[...]`` literal - that one regular expression per
message reads. Anything else (a nested list, a second literal, NIL, an item nobody asked
for) makes :func:`parse_fetch` hand the whole answer to imapclient's parser, which stays
the reference: both give the same dictionaries (``tests/connectors/test_imap_fetch.py``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

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
