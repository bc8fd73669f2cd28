"""The pure mail parser, requirement by requirement: header decoding in the charsets Finnish
mail arrives in, bodies, HTML sanitising, attachment names, threading, dates, list mail,
and hostile messages that must come back quickly and without an exception."""

from __future__ import annotations

import base64
import builtins
import hashlib
import quopri
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from connectors.mail import parse as parse_module
from connectors.mail.model import Limits, ParsedMail
from connectors.mail.parse import parse_message

FINNISH = "Hyvää päivää, äöå ÄÖÅ maksoi 5 €"
# Label as written in the mail -> the codec its bytes are made with. Outlook writes the
# euro sign as cp1252's 0x80 under "iso-8859-1".
CHARSETS = [
    ("iso-8859-1", "cp1252"),
    ("ISO-8859-15", "iso8859-15"),
    ("windows-1252", "cp1252"),
    ("utf-8", "utf-8"),
]
BUDGET_SECONDS = 2.0


def mail(*headers: str | bytes, body: str | bytes = "hello\n") -> bytes:
    lines = [h.encode() if isinstance(h, str) else h for h in headers]
    if not any(line.lower().startswith(b"from:") for line in lines):
        lines.insert(0, b"From: Sender <sender@example.fi>")
    payload = body.encode() if isinstance(body, str) else body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def part(*headers: str | bytes, body: str | bytes = "") -> bytes:
    lines = [h.encode() if isinstance(h, str) else h for h in headers]
    payload = body.encode() if isinstance(body, str) else body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def multipart(*parts: bytes, subtype: str = "mixed", boundary: str = "b0undary") -> bytes:
    """A multipart body with its own Content-Type line first, usable as a part or a mail."""
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    for p in parts:
        out.append(f"--{boundary}\r\n".encode() + p + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def multipart_mail(*parts: bytes, subtype: str = "mixed", headers: tuple[str, ...] = ()) -> bytes:
    head = b"".join(h.encode() + b"\r\n" for h in ("From: s@example.fi", *headers))
    return head + multipart(*parts, subtype=subtype)


def q_word(text: str, label: str, codec: str) -> str:
    raw = text.encode(codec)
    encoded = "".join(
        chr(b) if chr(b).isalnum() and b < 128 else "_" if b == 32 else f"={b:02X}" for b in raw
    )
    return f"=?{label}?Q?{encoded}?="


def b_word(text: str, label: str, codec: str) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def text_part(text: str, label: str | None, codec: str, cte: str) -> bytes:
    raw = text.encode(codec)
    encoders: dict[str, Callable[[bytes], bytes]] = {
        "quoted-printable": quopri.encodestring,
        "base64": base64.encodebytes,
        "8bit": bytes,
    }
    body = encoders[cte](raw)
    ctype = "text/plain" + (f"; charset={label}" if label else "")
    return mail(f"Content-Type: {ctype}", f"Content-Transfer-Encoding: {cte}", body=body)


# --- headers: RFC 2047 and raw 8-bit -------------------------------------------------------


@pytest.mark.parametrize(("label", "codec"), CHARSETS)
@pytest.mark.parametrize("word", [q_word, b_word])
def test_encoded_word_subject_in_finnish_charsets(
    label: str, codec: str, word: Callable[[str, str, str], str]
) -> None:
    parsed = parse_message(mail(f"Subject: Re: {word(FINNISH, label, codec)}"))
    assert parsed.subject == f"Re: {FINNISH}"
    assert not parsed.failed


def test_adjacent_encoded_words_join_and_split_characters_survive() -> None:
    # "ä" is C3 A4 in UTF-8: one byte in each word, as some mailers fold it.
    parsed = parse_message(
        mail("Subject: =?utf-8?q?p=C3?= =?utf-8?q?=A4iv=C3=A4?=\r\n =?utf-8?b?IMOkw7bDpQ==?= x")
    )
    assert parsed.subject == "päivä äöå x"


def test_encoded_word_language_tag_and_lower_case_encoding() -> None:
    assert parse_message(mail("Subject: =?utf-8*fi?q?=C3=A4iti?=")).subject == "äiti"
    assert parse_message(mail("Subject: =?iso-8859-1?b?5Gl0aQ==?=")).subject == "äiti"


def test_encoded_word_in_unknown_charset_falls_back() -> None:
    latin = parse_message(mail("Subject: =?x-no-such-charset?q?=E4iti?="))
    assert latin.subject == "äiti"
    assert any("unknown charset" in p for p in latin.problems)
    utf8 = parse_message(mail("Subject: =?x-unknown?q?=C3=A4iti?="))
    assert utf8.subject == "äiti"


def test_broken_encoded_word_is_kept_not_raised() -> None:
    parsed = parse_message(mail("Subject: =?utf-8?b?###?= and =?utf-8?q?ok?="))
    assert parsed.subject.endswith("and ok")
    assert not parsed.failed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Päivää Äiti €".encode(), "Päivää Äiti €"),
        ("Päivää Äiti €".encode("cp1252"), "Päivää Äiti €"),
    ],
)
def test_non_ascii_header_without_encoding(raw: bytes, expected: str) -> None:
    parsed = parse_message(mail(b"Subject: " + raw, b"From: " + raw + b" <a@example.fi>"))
    assert parsed.subject == expected
    assert parsed.sender is not None
    assert parsed.sender.name == expected
    assert parsed.problems


# --- bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "codec"), CHARSETS)
@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_finnish_body_in_every_charset_and_encoding(label: str, codec: str, cte: str) -> None:
    parsed = parse_message(text_part(f"{FINNISH}\nrivi 2\n", label, codec, cte))
    assert parsed.text.strip() == f"{FINNISH}\nrivi 2"
    assert parsed.snippet == f"{FINNISH} rivi 2"
    assert parsed.html == ""


@pytest.mark.parametrize("codec", ["utf-8", "cp1252"])
def test_missing_charset_with_8bit_bytes(codec: str) -> None:
    parsed = parse_message(text_part(FINNISH, None, codec, "8bit"))
    assert parsed.text == FINNISH
    assert any("without a charset" in p for p in parsed.problems)


@pytest.mark.parametrize("label", ["x-unknown", "unknown-8bit", "us-ascii", "foo-bar-9"])
@pytest.mark.parametrize("codec", ["utf-8", "cp1252"])
def test_unknown_or_wrong_charset_labels(label: str, codec: str) -> None:
    parsed = parse_message(text_part(FINNISH, label, codec, "quoted-printable"))
    assert parsed.text == FINNISH
    assert parsed.problems


def test_charset_aliases_and_declared_utf8_that_is_not() -> None:
    assert parse_message(text_part(FINNISH, "latin1", "cp1252", "8bit")).text == FINNISH
    assert parse_message(text_part(FINNISH, "utf8", "utf-8", "8bit")).text == FINNISH
    assert parse_message(text_part("äö", "cp-850", "cp850", "8bit")).text == "äö"
    wrong = parse_message(text_part(FINNISH, "utf-8", "cp1252", "8bit"))
    assert wrong.text == FINNISH
    assert any("not valid utf-8" in p for p in wrong.problems)


def test_refused_codecs_are_not_used() -> None:
    # punycode and the escape codecs are text codecs to Python, but no mail charset.
    parsed = parse_message(text_part("x\\u00e4", "unicode_escape", "ascii", "8bit"))
    assert parsed.text == "x\\u00e4"
    assert any("unknown charset" in p for p in parsed.problems)


def test_utf7_lone_surrogates_and_nul_do_not_reach_the_output() -> None:
    parsed = parse_message(mail("Content-Type: text/plain; charset=utf-7", body=b"+2AA-a\x00b"))
    assert parsed.text == "\ufffdab"
    parsed.text.encode("utf-8")


def test_plain_text_preferred_and_later_mixed_parts_appended() -> None:
    raw = multipart_mail(
        multipart(
            part("Content-Type: text/plain; charset=utf-8", body="Päiväys"),
            part("Content-Type: text/html; charset=utf-8", body="<p>HTML <b>versio</b></p>"),
            subtype="alternative",
            boundary="alt",
        ),
        part("Content-Type: text/plain", body="-- \r\nlist footer"),
    )
    parsed = parse_message(raw)
    assert parsed.text == "Päiväys\n\n-- \nlist footer"
    assert parsed.html == "<p>HTML <b>versio</b></p>"
    assert parsed.attachments == []


def test_text_derived_from_html_only_mail() -> None:
    html = (
        "<html><head><title>Otsikko</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Tervetuloa</h1><p>Hyv&auml;&auml;   p&auml;iv&auml;&auml;"
        "&nbsp;&amp; kiitos</p><table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    parsed = parse_message(mail("Content-Type: text/html; charset=utf-8", body=html))
    assert parsed.text == "Tervetuloa\nHyvää päivää & kiitos\na b"
    assert parsed.snippet == "Tervetuloa Hyvää päivää & kiitos a b"
    assert "alert" not in parsed.text and "color" not in parsed.text


def test_snippet_is_short_and_collapsed() -> None:
    parsed = parse_message(mail(body="  alku\r\n\r\n\t " + "sana " * 500))
    assert parsed.snippet.startswith("alku sana sana")
    assert len(parsed.snippet) <= 200
    assert "  " not in parsed.snippet and "\n" not in parsed.snippet


def test_text_cap() -> None:
    parsed = parse_message(mail(body="x" * 5000), Limits(max_text_chars=1000))
    assert len(parsed.text) == 1000
    assert any("over 1000 characters" in p for p in parsed.problems)


# --- HTML sanitising -----------------------------------------------------------------------


def html_of(fragment: str) -> str:
    return parse_message(mail("Content-Type: text/html; charset=utf-8", body=fragment)).html


TAG = re.compile(r"<[^>]*>")


@pytest.mark.parametrize(
    ("fragment", "forbidden"),
    [
        ("<script>alert(1)</script>ok", "alert"),
        ("<SCRIPT src=https://evil.example/x.js></SCRIPT>ok", "evil"),
        ('<img src=x onerror="alert(1)">ok', "onerror"),
        ('<p onclick="steal()">ok</p>', "onclick"),
        ('<a href="javascript:alert(1)">ok</a>', "javascript"),
        ('<a href="JaVaScRiPt&colon;alert(1)">ok</a>', "alert"),
        ('<a href="java\tscript:alert(1)">ok</a>', "script"),
        ('<svg><animate onbegin="alert(1)" attributeName="x"/></svg>ok', "animate"),
        ('<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>ok', "svg"),
        ('<math><mi xlink:href="javascript:alert(1)">x</mi></math>ok', "math"),
        ("<style>body{background:url(https://t.example/p)}</style>ok", "background"),
        ('<div style="background:url(https://t.example/p)">ok</div>', "style"),
        ('<img src="https://tracker.example/pixel.gif">ok', "tracker"),
        ('<img src="cid:logo@firm">ok', "img"),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">ok</a>', "data:"),
        ('<img src="data:image/png;base64,iVBORw0KGgo=">ok', "data:"),
        ('<a href="http://plain.example/">ok</a>', "http:"),
        ('<a href="/api/clients/1/delete">ok</a>', "/api"),
        ('<iframe src="https://x.example/"></iframe>ok', "iframe"),
        ('<form action="https://x.example/"><input name=p></form>ok', "form"),
        ('<object data="https://x.example/a.swf"></object>ok', "object"),
        ('<embed src="https://x.example/a.swf">ok', "embed"),
        ('<meta http-equiv="refresh" content="0;url=https://x.example/">ok', "refresh"),
        ('<base href="https://x.example/">ok', "base"),
        ('<link rel=stylesheet href="https://x.example/s.css">ok', "stylesheet"),
        ('<div class="admin-only" id="csrf">ok</div>', "admin-only"),
    ],
)
def test_html_sanitising(fragment: str, forbidden: str) -> None:
    html = html_of(fragment)
    assert "ok" in html
    assert forbidden.lower() not in html.lower()
    for tag in TAG.findall(html):
        assert not re.search(r"\son\w+\s*=", tag)


def test_links_keep_https_and_mailto_with_rel() -> None:
    html = html_of(
        '<a href="https://firm.example/a?b=1&amp;c=2">x</a> <a href="mailto:a@b.fi">m</a>'
    )
    assert 'href="https://firm.example/a?b=1&amp;c=2"' in html
    assert 'href="mailto:a@b.fi"' in html
    assert html.count('rel="noopener noreferrer"') == 2


def test_ordinary_formatting_survives() -> None:
    html = html_of(
        "<p>a <b>b</b> <i>c</i></p><ul><li>d</li></ul><table><tr><td>e</td></tr></table>"
    )
    assert html == (
        "<p>a <b>b</b> <i>c</i></p><ul><li>d</li></ul>"
        "<table><tbody><tr><td>e</td></tr></tbody></table>"
    )


# --- attachments ---------------------------------------------------------------------------


def attachment_mail(disposition: str, body: bytes = b"%PDF-1.4 data", extra: str = "") -> bytes:
    return multipart_mail(
        part("Content-Type: text/plain", body="see attached"),
        part(
            f"Content-Type: application/pdf{extra}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: {disposition}",
            body=base64.encodebytes(body),
        ),
    )


def only_attachment(raw: bytes) -> Any:
    parsed = parse_message(raw)
    assert not parsed.failed
    assert len(parsed.attachments) == 1, parsed
    return parsed.attachments[0]


def test_attachment_metadata() -> None:
    data = bytes(range(256)) * 10
    att = only_attachment(attachment_mail('attachment; filename="lasku.pdf"', data))
    assert att.filename == "lasku.pdf"
    assert att.content_type == "application/pdf"
    assert att.size == len(data)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    assert att.inline is False
    assert att.content_id == ""


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=iso-8859-1''%E4iti.pdf", "äiti.pdf"),
        ("attachment; filename*=UTF-8''%C3%A4iti%20%E2%82%AC.pdf", "äiti €.pdf"),
        ("attachment; filename*0*=utf-8''%C3%A4i; filename*1*=ti.pdf", "äiti.pdf"),
        ('attachment; filename="=?utf-8?B?w6RpdGkucGRm?="', "äiti.pdf"),
        ('attachment; filename="=?iso-8859-1?Q?=E4iti=2Epdf?="', "äiti.pdf"),
        ("attachment; filename*=x-unknown''%E4iti.pdf", "äiti.pdf"),
        ("attachment; filename*=''%C3%A4iti.pdf", "äiti.pdf"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=utf-8''..%2F..%2F.ssh%2Fauthorized_keys", "authorized_keys"),
        ('attachment; filename="/etc/shadow"', "shadow"),
        ('attachment; filename="C:\\\\Windows\\\\System32\\\\evil.dll"', "evil.dll"),
        ('attachment; filename="\\\\\\\\server\\\\share\\\\x.txt"', "x.txt"),
        ('attachment; filename=".."', "attachment-1"),
        ('attachment; filename="..."', "attachment-1"),
        ('attachment; filename=""', "attachment-1"),
        ("attachment", "attachment-1"),
        ("attachment; filename*=utf-8''%00%01evil%0D%0A.pdf", "evil .pdf"),
        ("attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe", "invoicefdp.exe"),
        ("attachment; filename*=utf-8''a%EF%BC%8Fb.pdf", "b.pdf"),
        ('attachment; filename="  .hidden  "', "hidden"),
    ],
)
def test_attachment_names_are_decoded_and_made_safe(disposition: str, expected: str) -> None:
    assert only_attachment(attachment_mail(disposition)).filename == expected


def test_attachment_name_with_raw_nul_and_8bit_bytes() -> None:
    raw = attachment_mail("attachment").replace(
        b"Content-Disposition: attachment",
        b'Content-Disposition: attachment; filename="../\x00\xc3\xa4iti\x07.pdf"',
    )
    assert only_attachment(raw).filename == "äiti.pdf"


def test_very_long_attachment_names_keep_their_extension() -> None:
    name = only_attachment(attachment_mail(f'attachment; filename="{"ä" * 5000}.pdf"')).filename
    assert len(name) <= 180
    assert name.endswith("ää.pdf")
    bare = only_attachment(attachment_mail(f'attachment; filename="{"x" * 5000}"')).filename
    assert bare == "x" * 180


def test_newlines_inside_encoded_word_filenames() -> None:
    raw = attachment_mail(
        'attachment;\r\n filename="=?utf-8?B?w6RpdGk=?=\r\n =?utf-8?B?LnBkZg==?="'
    )
    assert only_attachment(raw).filename == "äiti.pdf"
    raw = attachment_mail('attachment; filename="=?utf-8?Q?rivi=0Arivi=0D.pdf?="')
    assert only_attachment(raw).filename == "rivi rivi .pdf"


def test_name_parameter_of_content_type_is_the_fallback() -> None:
    raw = attachment_mail("attachment", extra='; name="=?utf-8?Q?tiedot_=C3=A4.pdf?="')
    assert only_attachment(raw).filename == "tiedot ä.pdf"


def test_inline_image_with_content_id() -> None:
    raw = multipart_mail(
        part("Content-Type: text/html", body='<p>logo</p><img src="cid:logo@firm">'),
        part(
            "Content-Type: image/png",
            "Content-Transfer-Encoding: base64",
            "Content-ID: <logo@firm>",
            body=base64.encodebytes(b"\x89PNG fake"),
        ),
        subtype="related",
    )
    parsed = parse_message(raw)
    assert parsed.html == "<p>logo</p>"
    assert len(parsed.attachments) == 1
    image = parsed.attachments[0]
    assert (image.filename, image.inline, image.content_id) == ("attachment-1", True, "logo@firm")
    assert image.content_type == "image/png"


def test_text_part_with_a_file_name_is_an_attachment_not_the_body() -> None:
    raw = multipart_mail(
        part("Content-Type: text/plain", body="body"),
        part(
            "Content-Type: text/plain",
            'Content-Disposition: inline; filename="notes.txt"',
            body="file",
        ),
    )
    parsed = parse_message(raw)
    assert parsed.text == "body"
    assert [(a.filename, a.inline, a.size) for a in parsed.attachments] == [("notes.txt", True, 4)]


def test_forwarded_message_is_one_attachment() -> None:
    inner = mail("Subject: inner", body="inner body")
    raw = multipart_mail(
        part("Content-Type: text/plain", body="fwd"),
        part("Content-Type: message/rfc822", body=inner),
    )
    parsed = parse_message(raw)
    assert parsed.text == "fwd"
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert parsed.attachments[0].size > len("inner body")


def test_parsing_touches_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser opened a file")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "open", no_open)
    parsed = parse_message(attachment_mail('attachment; filename="../x.pdf"'))
    assert parsed.attachments[0].filename == "x.pdf"
    assert list(tmp_path.iterdir()) == []


# --- addresses, threading, dates, list mail -------------------------------------------------


def test_addresses() -> None:
    parsed = parse_message(
        mail(
            'From: "=?utf-8?q?Virtanen=2C_M=C3=A4tti?=" <Matti.Virtanen@Firm.FI>',
            "To: anna@example.fi, Bob <BOB@EXAMPLE.COM>,\r\n =?iso-8859-1?q?J=F6rn?= <jorn@x.fi>",
            "Cc: undisclosed-recipients:;",
            "Bcc: Secret <s@x.fi>",
            "Reply-To: replies@firm.fi (Firm)",
            "To: second@x.fi",
        )
    )
    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.address) == (
        "Virtanen, Mätti",
        "matti.virtanen@firm.fi",
    )
    assert [(a.name, a.address) for a in parsed.to] == [
        ("", "anna@example.fi"),
        ("Bob", "bob@example.com"),
        ("Jörn", "jorn@x.fi"),
        ("", "second@x.fi"),
    ]
    assert parsed.cc == []
    assert [a.address for a in parsed.bcc] == ["s@x.fi"]
    assert [(a.name, a.address) for a in parsed.reply_to] == [("Firm", "replies@firm.fi")]


def test_address_without_domain_keeps_only_a_name() -> None:
    parsed = parse_message(mail("From: MAILER-DAEMON"))
    assert parsed.sender is not None
    assert (parsed.sender.name, parsed.sender.address) == ("MAILER-DAEMON", "")


def test_threading_headers() -> None:
    parsed = parse_message(
        mail(
            "Message-ID: <abc.123@mail.firm.fi>",
            "In-Reply-To: <parent@x.fi> (Anna's message of Monday)",
            "References: <root@x.fi>\r\n <mid@x.fi>\r\n\t<parent@x.fi>",
        )
    )
    assert parsed.message_id == "abc.123@mail.firm.fi"
    assert parsed.in_reply_to == ["parent@x.fi"]
    assert parsed.references == ["root@x.fi", "mid@x.fi", "parent@x.fi"]


def test_threading_headers_without_brackets_and_missing() -> None:
    parsed = parse_message(mail("Message-Id: bare@x.fi", "References: a@x.fi, b@x.fi"))
    assert parsed.message_id == "bare@x.fi"
    assert parsed.references == ["a@x.fi", "b@x.fi"]
    empty = parse_message(mail())
    assert (empty.message_id, empty.in_reply_to, empty.references) == ("", [], [])


def test_long_reference_chains_keep_root_and_nearest() -> None:
    refs = " ".join(f"<r{i}@x.fi>" for i in range(500))
    parsed = parse_message(mail(f"References: {refs}"))
    assert len(parsed.references) == 100
    assert parsed.references[0] == "r0@x.fi"
    assert parsed.references[-1] == "r499@x.fi"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 1 Jul 2025 10:00:00 +0300", datetime(2025, 7, 1, 7, 0, tzinfo=UTC)),
        ("1 Jul 2025 10:00:00 -0500", datetime(2025, 7, 1, 15, 0, tzinfo=UTC)),
        ("Thu, 22 Aug 2002 12:36:23 +0100 (IST)", datetime(2002, 8, 22, 11, 36, 23, tzinfo=UTC)),
        ("Tue, 1 Jul 2025 10:00:00 -0000", datetime(2025, 7, 1, 10, 0, tzinfo=UTC)),
        ("Tue, 1 Jul 2025 10:00:00", datetime(2025, 7, 1, 10, 0, tzinfo=UTC)),
        ("Tue, 1 Jul 2025 10:00:00 EEST", datetime(2025, 7, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_aware(value: str, expected: datetime) -> None:
    parsed = parse_message(mail(f"Date: {value}"))
    assert parsed.date == expected
    assert parsed.date is not None and parsed.date.tzinfo is not None


def test_date_keeps_the_senders_offset() -> None:
    parsed = parse_message(mail("Date: Tue, 1 Jul 2025 10:00:00 +0300"))
    assert parsed.date is not None
    assert parsed.date.utcoffset() == timedelta(hours=3)
    assert parsed.date.tzinfo == timezone(timedelta(hours=3))


@pytest.mark.parametrize("value", ["yesterday", "Tue, 99 Foo 2025 99:99:99 +0300", "", "9" * 500])
def test_unparsable_dates_are_none(value: str) -> None:
    parsed = parse_message(mail(f"Date: {value}"))
    assert parsed.date is None
    assert not parsed.failed
    assert parse_message(mail()).date is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated; type=dsn", True),
        ("Auto-Submitted: no", False),
        ("Auto-Submitted: No (sent by a person)", False),
        ("Precedence: bulk", True),
        ("Precedence: List", True),
        ("Precedence: junk", True),
        ("Precedence: first-class", False),
        ("List-Id: Tilitoimisto <news.firm.fi>", True),
        ("List-Unsubscribe: <mailto:unsub@firm.fi>", True),
        ("X-Mailer: Outlook", False),
    ],
)
def test_auto_submitted(header: str, expected: bool) -> None:
    assert parse_message(mail(header)).auto_submitted is expected


# --- failures and caps ---------------------------------------------------------------------


def test_failure_after_headers_keeps_the_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module, "_read_bodies", broken)
    parsed = parse_message(mail("Subject: Tärkeä", "Message-ID: <k@x.fi>"))
    assert parsed.failed
    assert (parsed.subject, parsed.message_id) == ("Tärkeä", "k@x.fi")
    assert any("RuntimeError: boom" in p for p in parsed.problems)


def test_failure_in_the_parser_salvages_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr(parse_module, "_prescan", broken)
    parsed = parse_message(mail("Subject: pelastettu", body="x"))
    assert parsed.failed
    assert parsed.subject == "pelastettu"


def test_a_broken_part_costs_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    real = parse_module._attachment

    def flaky(part: Any, info: Any, filename: str, index: int) -> Any:
        if filename == "bad.bin":
            raise ValueError("bad part")
        return real(part, info, filename, index)

    monkeypatch.setattr(parse_module, "_attachment", flaky)
    raw = multipart_mail(
        part("Content-Type: text/plain", body="text"),
        part("Content-Type: application/x", 'Content-Disposition: attachment; filename="bad.bin"'),
        part("Content-Type: application/x", 'Content-Disposition: attachment; filename="ok.bin"'),
    )
    parsed = parse_message(raw)
    assert not parsed.failed
    assert parsed.text == "text"
    assert [a.filename for a in parsed.attachments] == ["ok.bin"]
    assert any("unreadable MIME part" in p for p in parsed.problems)


def nested(depth: int, leaf: str = "syvä teksti") -> bytes:
    out = [b"From: a@x.fi\r\nSubject: nested\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    for i in range(1, depth):
        out.append(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i))
    out.append(b"--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" % (depth - 1))
    out.append(leaf.encode() + b"\r\n")
    out.extend(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"".join(out)


def test_nesting_within_the_cap_is_read() -> None:
    parsed = parse_message(nested(30))
    assert parsed.text == "syvä teksti"
    assert parsed.problems == []


def test_nesting_over_the_cap_keeps_the_rest_of_the_message() -> None:
    raw = multipart_mail(
        part("Content-Type: text/plain", body="ylin teksti"),
        nested(40).split(b"\r\n", 2)[2],
        part("Content-Type: application/pdf", 'Content-Disposition: attachment; filename="a.pdf"'),
    )
    parsed = parse_message(raw, Limits(max_depth=10))
    assert parsed.text == "ylin teksti"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert any("nesting deeper than 10" in p for p in parsed.problems)
    assert not parsed.failed


def test_part_count_cap() -> None:
    parts = [part("Content-Type: text/plain", body=f"osa {i}") for i in range(50)]
    parsed = parse_message(multipart_mail(*parts), Limits(max_parts=10))
    assert not parsed.failed
    assert parsed.text.startswith("osa 0")
    assert "osa 8" in parsed.text and "osa 9" not in parsed.text
    assert any("more than 10 MIME parts" in p for p in parsed.problems)


def test_total_size_and_header_caps() -> None:
    big = parse_message(mail("Subject: iso", body="x" * 10_000), Limits(max_total_bytes=1000))
    assert big.subject == "iso" and 0 < len(big.text) < 1000
    assert any("cut there" in p for p in big.problems)
    headers = [f"X-Filler-{i}: {'y' * 50}" for i in range(100)]
    long_head = parse_message(mail("Subject: alku", *headers), Limits(max_header_bytes=2000))
    assert long_head.subject == "alku"
    assert any("header block over 2000" in p for p in long_head.problems)
    long_line = parse_message(mail("Subject: " + "z" * 5000), Limits(max_header_line_bytes=1000))
    assert long_line.subject == "z" * (1000 - len("Subject: "))
    assert any("header line over 1000" in p for p in long_line.problems)


# --- hostile messages ----------------------------------------------------------------------


def _many_parts(count: int) -> bytes:
    head = b"From: a@x.fi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
    return head + b"--x\r\n\r\n" * count + b"--x--\r\n"


def _params(header: str, count: int, quoted: bool = False) -> bytes:
    param = '; p{}="v;w"' if quoted else "; p{}=v"
    return mail(header + "".join(param.format(i) for i in range(count)))


def _multipart_params(count: int) -> bytes:
    return multipart_mail(part("Content-Type: text/plain", body="t")).replace(
        b'boundary="b0undary"', b'boundary="b0undary"' + b';a="' * count, 1
    )


def _garbage() -> bytes:
    return random.Random(20251122).randbytes(1_000_000)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "multipart nested 2000 deep": lambda: nested(2000),
    "nested 2000 deep, never closed": lambda: nested(2000).split(b"--b1999--")[0],
    "nested 2000 deep, bare CR line ends": lambda: nested(2000).replace(b"\r\n", b"\r"),
    "message/rfc822 nested 2000 deep": lambda: mail(*["Content-Type: message/rfc822\r\n"] * 2000),
    "multipart/digest nested 2000 deep": lambda: (
        b"From: a@x.fi\r\n"
        + b"".join(
            b"Content-Type: multipart/digest; boundary=d%d\r\n\r\n--d%d\r\n\r\n" % (i, i)
            for i in range(2000)
        )
    ),
    "200,000 empty parts": lambda: _many_parts(200_000),
    "header of 8,000 semicolons": lambda: mail("X-Semi: " + ";" * 8000),
    "To of 8,000 semicolons": lambda: mail("To: " + ";" * 8000),
    "Content-Type of 8,000 semicolons": lambda: mail("Content-Type: text/plain" + ";" * 8000),
    "Content-Type with 8,000 params": lambda: _params("Content-Type: text/plain", 8000),
    "Content-Type with 8,000 quoted params": lambda: _params(
        "Content-Type: text/plain", 8000, True
    ),
    "Content-Disposition with 8,000 params": lambda: _params(
        "Content-Disposition: attachment", 8000, True
    ),
    "multipart Content-Type with 8,000 open quotes": lambda: _multipart_params(8000),
    "10 MB single line": lambda: b"a" * 10_000_000,
    "10 MB Subject line": lambda: b"Subject: " + b"a" * 10_000_000,
    "10 MB body line": lambda: mail(body=b"a" * 10_000_000),
    "10 MB base64 line": lambda: mail(
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        body=b"QUFB" * 2_500_000,
    ),
    "empty message": lambda: b"",
    "only whitespace": lambda: b"\r\n\r\n  \r\n",
    "binary garbage": _garbage,
    "only headers": lambda: b"From: a@x.fi\r\nSubject: vain otsakkeet",
    "header without value or colon": lambda: b"From\r\nSubject\r\n\r\nbody",
    "encoded-word filename with newlines": lambda: attachment_mail(
        'attachment; filename="=?utf-8?Q?a=0D=0A=00b?=\r\n\t=?utf-8?B?Cgo=?=.pdf"'
    ),
    "non-ASCII header without encoding": lambda: mail(b"Subject: \xe4\xf6\xe5 \xff\xfe \xc3\xa4"),
    "nested comments in From": lambda: mail("From: " + "(" * 8000 + "a@x.fi"),
    "8,000 unclosed encoded words": lambda: mail("Subject: " + "=?a?q?" * 8000),
    "18,000 folded encoded words": lambda: mail("Subject: " + "=?utf-8?q?=C3=A4?=\r\n " * 18000),
    "30,000 addresses": lambda: mail("To: " + ", ".join(f"u{i}@x.fi" for i in range(30000))),
    "20,000 header lines": lambda: mail(*[f"X-H{i}: v" for i in range(20000)]),
    "forwarded message with a 60,000-line header": lambda: multipart_mail(
        part("Content-Type: message/rfc822", body=b"Subject: x" + b"\r\n a" * 60000 + b"\r\n\r\nx")
    ),
    "boundary lines that match nothing": lambda: mail(body=b"--x\r\n" * 200_000),
    "multipart full of lines that are no delimiter": lambda: multipart_mail(
        part("Content-Type: text/plain", body=b"--b0undar\r\n-- \r\n--b0undary-\r\n" * 70_000)
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_messages_return_quickly(name: str) -> None:
    raw = HOSTILE[name]()
    started = time.perf_counter()
    parsed = parse_message(raw)
    elapsed = time.perf_counter() - started
    assert isinstance(parsed, ParsedMail)
    assert elapsed < BUDGET_SECONDS, f"{name}: {elapsed:.2f} s"
    for value in (parsed.subject, parsed.text, parsed.html, parsed.snippet):
        value.encode("utf-8")  # storable: no lone surrogates
        assert "\x00" not in value


def test_hostile_results_are_sensible() -> None:
    assert parse_message(b"").failed
    assert parse_message(_garbage()).failed
    headers_only = parse_message(HOSTILE["only headers"]())
    assert (headers_only.subject, headers_only.text, headers_only.failed) == (
        "vain otsakkeet",
        "",
        False,
    )
    deep = parse_message(nested(2000))
    assert not deep.failed and any("nesting deeper" in p for p in deep.problems)
    many = parse_message(_many_parts(200_000))
    assert not many.failed and any("MIME parts" in p for p in many.problems)
    semis = parse_message(HOSTILE["Content-Type with 8,000 quoted params"]())
    assert not semis.failed and semis.text == "hello"
    odd = parse_message(HOSTILE["encoded-word filename with newlines"]())
    assert [a.filename for a in odd.attachments] == ["a b .pdf"]


def test_a_parsed_message_pickles_whole_and_is_stored_as_plain_data() -> None:
    """How a parsed message is pickled (from parse worker processes) and turned into the
    message's JSON columns is written by hand for speed: pickling must keep every field,
    and the columns must equal dataclasses.asdict."""
    import pickle
    from dataclasses import asdict

    from hub.mail.fields import message_columns

    raw = (b"From: Pia <pia@yritys.fi>\r\nTo: a@b.fi, C <c@d.fi>\r\nCc: e@f.fi\r\n"
           b"Reply-To: r@s.fi\r\nSubject: Kuitit\r\nMessage-ID: <m1@x>\r\n"
           b"In-Reply-To: <p@x>\r\nReferences: <q@x> <p@x>\r\n"
           b"Date: Tue, 1 Dec 2026 10:00:00 +0200\r\n"
           b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nhei\r\n--z\r\n"
           b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
           b"filename=lasku.pdf\r\n\r\nPDF\r\n--z--\r\n")
    parsed = parse_message(raw)
    # Bytes this test just made, as a parse worker process sends them back.
    assert pickle.loads(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)) == parsed  # noqa: S301
    expected = asdict(parsed)
    columns = message_columns(parsed)
    assert columns["attachments"] == expected["attachments"]
    assert columns["headers"] == {name: expected[name] for name in (
        "in_reply_to", "references", "to", "cc", "reply_to")}
    assert (columns["sender_name"], columns["sender_address"]) == (
        expected["sender"]["name"], expected["sender"]["address"])
    assert parsed.attachments and parsed.cc and parsed.reply_to
