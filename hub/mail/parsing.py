"""The parser's side of filing, kept free of the database so that parse worker processes
import only this and the parser itself.

The parser is handed in (``parse``: raw bytes to a :class:`ParsedMail`) by whoever
builds the filing, so the hub does not depend on the connectors that share it.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing import forkserver
from multiprocessing.context import BaseContext

from hub.sync.parsed_mail import ParsedMail

log = logging.getLogger(__name__)

Parse = Callable[[bytes], ParsedMail]


def safe_parse(parse: Parse, raw: bytes) -> ParsedMail:
    """The parser never raises by contract; should it still, the copy is kept unparsed."""
    try:
        return parse(raw)
    except Exception as exc:
        log.warning("the parser raised %s", type(exc).__name__)
        return ParsedMail.unparsed(f"the parser raised {type(exc).__name__}")


#: What a copy whose parse took its worker process down with it stands for.
CRASHED = ParsedMail.unparsed(
    "parsing this message stopped its worker process (out of memory or a crash)")

#: The pool could not start or lost a process: the errors that say so.
_POOL_ERRORS = (OSError, ValueError, AssertionError, BrokenProcessPool)


def pool(workers: int, parse: Parse) -> Executor | None:
    """Parse worker processes, started from a clean server process (forkserver) rather
    than forked from this one: a sync may run in a process with threads and open
    connections. None where no processes can be started: a daemonic process (a Celery
    worker's child) may not have children."""
    if multiprocessing.current_process().daemon:
        log.info("parsing in this process: a daemonic process cannot start workers")
        return None
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=_context(parse))
    except _POOL_ERRORS as exc:
        log.info("parsing in this process: no worker processes (%s)", exc)
        return None


def warm_up(parse: Parse) -> None:
    """Start the server that parse workers are forked from, now rather than at the first
    parse: it is an interpreter of its own that imports the parser, a fifth of a second
    that the first batch of a large filing would otherwise wait for. Called while the
    fetch is still running; nothing happens where :func:`pool` would start nothing."""
    if multiprocessing.current_process().daemon:
        return
    try:
        _context(parse)
        forkserver.ensure_running()
    except _POOL_ERRORS as exc:
        log.info("the parse workers' server did not start early (%s)", exc)


def _context(parse: Parse) -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    # What the server imports before it forks a worker; one that runs already keeps its
    # own (the same parser, in one process).
    context.set_forkserver_preload([__name__, parse.__module__])
    return context


Parsed = Callable[[], list[ParsedMail]]


class Parser:
    """Parses lists of raw messages: in worker processes while there are any, else here.

    ``submit`` hands a list to the workers at once and returns what waits for the
    result, so the caller can write one batch while the workers parse the next. A pool
    that cannot start parses here instead. A message that takes its worker down (out of
    memory, a crash in C code) is found by parsing its batch one message at a time and
    is kept unparsed; the rest of the batch and the pool go on."""

    def __init__(self, parse: Parse, workers: int) -> None:
        self.parse = parse
        self.one = partial(safe_parse, parse)
        self.workers = workers
        self.executor = pool(workers, parse) if workers > 0 else None
        #: Messages whose parse took a worker process down.
        self.crashed = 0

    @property
    def processes(self) -> int:
        return self.workers if self.executor is not None else 0

    def submit(self, raws: list[bytes]) -> Parsed:
        if self.executor is None:
            return lambda: [self.one(raw) for raw in raws]
        try:
            chunk = max(1, len(raws) // (self.workers * 4))
            results = self.executor.map(self.one, raws, chunksize=chunk)
        except _POOL_ERRORS as exc:  # the processes start at the first submit
            log.info("parsing in this process: the workers did not start (%s)", exc)
            self.close()
            return lambda: [self.one(raw) for raw in raws]

        def result() -> list[ParsedMail]:
            try:
                return list(results)
            except BrokenProcessPool:
                return self._one_at_a_time(raws)

        return result

    def _one_at_a_time(self, raws: list[bytes]) -> list[ParsedMail]:
        self.close()
        out: list[ParsedMail] = []
        for raw in raws:
            if self.executor is None:
                self.executor = pool(self.workers, self.parse)
                if self.executor is None:
                    return out + [self.one(r) for r in raws[len(out):]]
            try:
                out.append(self.executor.submit(self.one, raw).result())
            except BrokenProcessPool:
                log.warning("a message of %d bytes stopped its parse worker; kept unparsed",
                            len(raw))
                self.crashed += 1
                out.append(CRASHED)
                self.close()
        return out

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None
