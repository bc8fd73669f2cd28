"""Parse worker processes: a message that takes its worker down is kept unparsed while
the rest of its batch parses; where no worker processes can start (a daemonic process,
as a Celery worker's child is), parsing happens in the process itself."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import replace

from hub.mail.parsing import CRASHED, Parser
from hub.sync.parsed_mail import ParsedMail


def parse_or_die(raw: bytes) -> ParsedMail:
    if raw == b"crash":
        os._exit(3)  # as an out-of-memory kill would: no exception, the process is gone
    # The message's length and the process that parsed it, in fields the test reads back.
    return replace(ParsedMail.unparsed(""), problems=[], failed=False,
                   subject=str(len(raw)), message_id=str(os.getpid()))


def length(parsed: ParsedMail) -> int | None:
    return None if parsed.failed else int(parsed.subject)


def pid(parsed: ParsedMail) -> int:
    return int(parsed.message_id)


def test_a_message_that_kills_its_worker_is_kept_unparsed_and_the_rest_parse():
    parser = Parser(parse_or_die, 2)
    try:
        assert parser.processes == 2
        raws = [b"a", b"bb", b"crash", b"dddd"]
        results = parser.submit(raws)()
        assert [length(r) for r in results] == [1, 2, None, 4]
        assert results[2] == CRASHED and parser.crashed == 1
        assert all(pid(r) != os.getpid() for r in results if not r.failed)
        # The workers go on for the next batch.
        assert [length(r) for r in parser.submit([b"e" * 5, b"f"])()] == [5, 1]
        assert parser.processes == 2
    finally:
        parser.close()


def _in_a_daemon(out: multiprocessing.Queue) -> None:
    parser = Parser(parse_or_die, 2)
    results = parser.submit([b"abc", b"de"])()
    out.put((parser.processes, [(length(r), pid(r) == os.getpid()) for r in results]))
    parser.close()


def test_a_daemonic_process_parses_in_itself():
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_in_a_daemon, args=(out,), daemon=True)
    child.start()
    processes, results = out.get(timeout=60)
    child.join(10)
    assert child.exitcode == 0
    assert processes == 0 and results == [(3, True), (2, True)]


def test_workers_that_cannot_start_leave_parsing_here(monkeypatch):
    parser = Parser(parse_or_die, 2)
    assert parser.executor is not None

    def refuse(*args, **kwargs):
        raise OSError("resource temporarily unavailable")

    monkeypatch.setattr(parser.executor, "map", refuse)
    results = parser.submit([b"xyz"])()
    assert [(length(r), pid(r)) for r in results] == [(3, os.getpid())]
    assert parser.processes == 0
