"""Every error leaves the API as ``{"error": {"message", "field"?}}`` a person can act on."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hub.errors import AuthenticationFailed, ClientHubError, InvalidInput


def _body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    error.update(extra)
    return {"error": error}


def install(app: FastAPI) -> None:
    @app.exception_handler(ClientHubError)
    async def _domain(_: Request, exc: ClientHubError) -> JSONResponse:
        field = exc.field if isinstance(exc, InvalidInput) else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
        return JSONResponse(_body(exc.message, field), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            problems.append({"field": ".".join(loc) or None, "message": err.get("msg", "")})
        first = problems[0] if problems else {"field": None, "message": "invalid input"}
        message = (
            f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        )
        return JSONResponse(_body(message, first["field"], problems=problems), 422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        messages = {
            404: "no such endpoint; see /docs for the API",
            405: "this endpoint does not take that method; see /docs",
        }
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse(_body(message), exc.status_code, headers=exc.headers)
