"""The fast FETCH reader gives what imapclient's parser gives: on Dovecot's own answers to
what the connector asks, and on shapes it must leave to imapclient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient.response_parser import parse_fetch_response

from connectors.imap.fetch import _flat, _NotFlat, parse_fetch, read_fetch
from tests.connectors.test_imap import make_mail
from tests.peers.dovecot import MailUser

ASKED = [
    "(BODY.PEEK[] RFC822.SIZE FLAGS INTERNALDATE)",
    "(BODY.PEEK[HEADER] RFC822.SIZE FLAGS INTERNALDATE)",
    "(RFC822.SIZE)",
    "(FLAGS)",
]


def _same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for seq, answer in want.items():
        assert got[seq].keys() == answer.keys(), seq
        for key, value in answer.items():
            if isinstance(value, datetime):  # imapclient's own tzinfo class
                assert got[seq][key] == value and got[seq][key].utcoffset() == value.utcoffset()
            else:
                assert got[seq][key] == value, (seq, key)


@pytest.mark.parametrize("asked", ASKED)
def test_dovecot_answers_read_alike(mailbox: MailUser, asked: str) -> None:
    raws = [make_mail(n, subject=f"Viesti {n} äöå", body="rivi\r\n" * n) for n in range(1, 8)]
    raws.append(b"From: x@y.fi\r\nSubject: {braces} (and parens) \"quotes\"\r\n\r\n)\r\n")
    mailbox.append("INBOX", raws, when=datetime(2026, 3, 1, 8, tzinfo=timezone(timedelta(
        hours=2))))
    mailbox.add_flags("INBOX", [2], ["\\Seen", "$Laskutettu", "\\Flagged"])
    mailbox.add_flags("INBOX", [3], ["\\Answered"])
    with mailbox.client("INBOX", readonly=True) as client:
        imap = client._imap
        modifiers = ["(CHANGEDSINCE 1)"] if mailbox.server.condstore and asked == "(FLAGS)" \
            else []
        typ, data = imap.uid("FETCH", "1:*", asked, *modifiers)
    assert typ == "OK"
    fast = _flat(data)  # the fast path itself, not its fallback
    _same(fast, dict(parse_fetch_response(data, False, False)))
    if "BODY" in asked:
        bodies = [a.get(b"BODY[]") or a.get(b"BODY[HEADER]") for a in fast.values()]
        assert all(raws[i].startswith(b) for i, b in enumerate(bodies))
        assert all(isinstance(a[b"INTERNALDATE"], datetime) for a in fast.values())


@pytest.mark.parametrize("data", [
    # A nested list (BODYSTRUCTURE), NIL, two literals, an item nobody asked for.
    [b'1 (UID 4 BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 5 1))'],
    [b'1 (UID 4 FLAGS () ENVELOPE NIL)'],
    [(b'1 (UID 4 BODY[HEADER] {3}', b'a\r\n'), (b' BODY[TEXT] {2}', b'hi'), b')'],
    [b'1 (UID 4 X-GM-MSGID 123)'],
    # Two answers for one message: an unsolicited FLAGS beside ours.
    [b'1 (FLAGS (\\Seen))', b'1 (UID 4 FLAGS (\\Seen))'],
    [b'1 (UID 4 INTERNALDATE "31-Foo-2026 10:00:00 +0000")'],
])
def test_other_shapes_are_left_to_imapclient(data: list) -> None:
    with pytest.raises(_NotFlat):
        _flat(data)
    try:
        want = dict(parse_fetch_response(data, False, False))
    except Exception as exc:  # what imapclient refuses, the fallback refuses alike
        with pytest.raises(type(exc)):
            parse_fetch(data)
    else:
        assert parse_fetch(data) == want


def test_internaldate_zones() -> None:
    data = [b'7 (UID 9 INTERNALDATE " 1-Mar-2026 23:59:59 -0930")']
    got = parse_fetch(data)[7][b"INTERNALDATE"]
    assert got == datetime(2026, 3, 2, 9, 29, 59, tzinfo=UTC)
    assert got.utcoffset() == -timedelta(hours=9, minutes=30)


@pytest.mark.parametrize("asked", [
    *ASKED,
    "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])",  # two literals in one answer
    "(FLAGS BODYSTRUCTURE BODY.PEEK[])",  # a nested list beside the literal
    "(ENVELOPE)",  # quoted strings and NIL, no literal
])
def test_read_fetch_reads_what_imaplib_reads(mailbox: MailUser, asked: str) -> None:
    """The same command read twice off one connection: once by imaplib and imapclient,
    once by read_fetch; the answers agree, and the connection is left where imaplib
    would leave it (the next command runs)."""
    raws = [make_mail(n, subject=f"Viesti {n} äöå {{1}}", body="rivi\r\n" * n)
            for n in range(1, 6)]
    mailbox.append("INBOX", raws)
    mailbox.add_flags("INBOX", [2], ["\\Seen", "$Laskutettu"])
    with mailbox.client("INBOX", readonly=True) as client:
        imap = client._imap
        typ, data = imap.uid("FETCH", "1:*", asked)
        want = dict(parse_fetch_response(data, False, False))
        tag = imap._command("UID", "FETCH", "1:*", asked)
        status, _, got = read_fetch(imap, tag)
        assert (typ, status) == ("OK", "OK")
        _same(got, want)
        assert client.noop()[0].startswith(b"NOOP")  # the session is in step


def test_answers_are_merged_by_uid_not_by_the_shifting_sequence_number(
        mailbox: MailUser) -> None:
    """Once mail is expunged, sequence numbers no longer match UIDs. An answer imaplib
    kept from an earlier command (a flag change on a message since expunged, with
    sequence number 1) must not be merged into the message that is number 1 now."""
    raws = [make_mail(n, subject=f"Viesti {n}", body="rivi\r\n") for n in range(1, 7)]
    mailbox.append("INBOX", raws)
    mailbox.expunge("INBOX", [1, 2])
    with mailbox.client("INBOX", readonly=True) as client:
        imap = client._imap
        imap.untagged_responses["FETCH"] = [b"1 (UID 1 FLAGS (\\Seen $Stale))"]
        tag = imap._command("UID", "FETCH", "3:*", "(BODY.PEEK[] FLAGS)")
        status, _, got = read_fetch(imap, tag)
    assert status == "OK"
    assert set(got) == {1, 3, 4, 5, 6}
    assert got[3][b"BODY[]"] == raws[2] and got[3][b"FLAGS"] == ()
    assert b"BODY[]" not in got[1]  # what came for UID 1 says nothing about its content
