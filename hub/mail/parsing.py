"""The parser's side of filing, kept free of the database so that parse worker processes
import only this and the parser itself.

The parser is handed in (``parse``: raw bytes to the parser's dictionary) by whoever
builds the filing, so the hub does not depend on the connectors that share it.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

Parse = Callable[[bytes], dict[str, Any]]

#: What a parser that failed outright stands for.
FAILED: dict[str, Any] = {"failed": True, "problems": ["the parser failed on this message"]}


def safe_parse(parse: Parse, raw: bytes) -> dict[str, Any]:
    """The parser never raises by contract; should it still, the copy is kept unparsed."""
    try:
        return parse(raw)
    except Exception as exc:
        log.warning("the parser raised %s", type(exc).__name__)
        return {**FAILED, "problems": [f"the parser raised {type(exc).__name__}"]}


def pool(workers: int, parse: Parse) -> Executor | None:
    """Parse worker processes, started from a clean server process (forkserver) rather
    than forked from this one: a sync may run in a process with threads and open
    connections. None where no processes can be started (inside a daemonic worker)."""
    try:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, parse.__module__])
        return ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, ValueError, AssertionError) as exc:
        log.info("parsing in this process: no worker processes (%s)", exc)
        return None
