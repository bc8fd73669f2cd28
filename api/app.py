"""The FastAPI application. ``create_app`` wires the settings to an engine; nothing else."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from api import errors
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
    timeline,
    users,
)
from hub.db import make_engine, make_session_factory
from hub.settings import Settings, get_settings

API_PREFIX = "/api/v1"

#: Routes reachable without a token. Everything else must depend on the principal;
#: tests/api/test_route_guard.py fails on any route that does not.
PUBLIC_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    app = FastAPI(
        title="Client Hub",
        version="0.1.0",
        description="Each client's mail, files, notes and people in one timeline, shown to "
        "exactly those who may see it. Authenticate with 'Authorization: Bearer <token>'.",
    )
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.settings = settings
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    v1 = APIRouter(prefix=API_PREFIX)
    for module in (me, clients, timeline, mail, accounts, users, groups, responsibilities,
                   access, folders, drive):
        v1.include_router(module.router)
    app.include_router(v1)
    return app
