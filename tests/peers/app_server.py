"""``clienthub serve``'s app and server (uvicorn, the same limits) in a thread of the test
process, on a free port: the API and the web pages as a browser or an HTTP client meets
them, on the test's own engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from sqlalchemy import Engine

from api.app import create_app, server_config
from hub.settings import Settings
from tests.peers.postgres import free_port


@contextmanager
def served_app(engine: Engine, settings: Settings | None = None, *,
               state: dict[str, Any] | None = None, **options: Any) -> Iterator[str]:
    """Serves until the block ends; yields the base URL. ``state`` goes to the app's
    ``app.state`` (the seams pages read, such as the HTTP client msal speaks through);
    ``options`` go to uvicorn."""
    port = free_port()
    app = create_app(settings=settings, engine=engine)
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port,
                                          log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
