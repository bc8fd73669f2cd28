"""The FastAPI application. ``create_app`` wires the settings to an engine; nothing else."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from api import errors, transactions, web
from api.routers import (
    access,
    accounts,
    clients,
    drive,
    folders,
    groups,
    mail,
    me,
    responsibilities,
    search,
    timeline,
    users,
)
from api.transactions import MAX_REQUESTS
from hub.db import make_engine, make_session_factory
from hub.settings import Settings, get_settings

API_PREFIX = "/api/v1"

#: Routes reachable without a token or a web session. Everything else must depend on the
#: principal (a token's, or a signed-in page viewer's: api/web/deps.py);
#: tests/api/test_route_guard.py fails on any route that does not.
PUBLIC_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json",
                          "/redoc"}) | web.PUBLIC_PATHS


def web_engine(url: str, max_requests: int = MAX_REQUESTS) -> Engine:
    """An engine for the server: a connection for each request it serves at once, and a
    few for what runs beside them (start-up, the docs)."""
    return make_engine(url, pool_size=max_requests, max_overflow=4)


def server_config(app: FastAPI | str, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How ``clienthub serve`` runs ``app`` (an import string for worker processes):
    beyond ``limit_concurrency`` connections and requests, new ones are answered 503 at
    once instead of queueing without bound."""
    options.setdefault("limit_concurrency", 1024)
    options.setdefault("backlog", 2048)
    options.setdefault("timeout_keep_alive", 30)
    return uvicorn.Config(app, host=host, port=port, **options)


def served_app() -> FastAPI:
    """The app of one ``clienthub serve --workers N`` process, on an engine of its own."""
    settings = get_settings()
    engine = web_engine(settings.resolved_database_url, settings.max_requests)
    return create_app(settings, engine, settings.max_requests)


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               max_requests: int = MAX_REQUESTS) -> FastAPI:
    """The API on ``engine`` (by default: a :func:`web_engine` on the configured database),
    serving at most ``max_requests`` at once, and no more than its pool has connections."""
    settings = settings or get_settings()
    engine = engine or web_engine(settings.resolved_database_url, max_requests)
    if isinstance(engine.pool, QueuePool):
        max_requests = max(1, min(max_requests, engine.pool.size()))
    app = FastAPI(
        title="Client Hub",
        version="0.1.0",
        description="Each client's mail, files, notes and people in one timeline, shown to "
        "exactly those who may see it. Authenticate with 'Authorization: Bearer <token>'.",
    )
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.settings = settings
    transactions.install(app, app.state.session_factory, max_requests)
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    v1 = APIRouter(prefix=API_PREFIX)
    for module in (me, clients, timeline, mail, accounts, users, groups, responsibilities,
                   access, folders, drive, search):
        v1.include_router(module.router)
    app.include_router(v1)
    web.install(app)
    return app
