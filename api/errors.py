"""Every error leaves the API as ``{"error": {"message", "field"?}}`` a person can act on;
a browser asking for a page at an address that has none gets the web view's 404 page."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.web.routing import unknown_path_page, wants_page
from hub.errors import AuthenticationFailed, ClientHubError, Conflict, InvalidInput

log = logging.getLogger(__name__)

#: FastAPI's detail for a request body it could not decode.
_UNPARSED_BODY = "There was an error parsing the body"


def _body(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    error.update(extra)
    return {"error": error}


_SOURCES = ("body", "query", "path")


def _problem(err: Any, body: Any) -> dict[str, Any]:
    """One validation error as ``{"field", "message"}``; the field is the dotted path inside
    its source (``contacts.0.emails.1``, ``limit``), or ``body`` for the body as a whole."""
    loc = tuple(err.get("loc", ()))
    if err.get("type") == "json_invalid":
        # FastAPI puts the decoder's character offset where a field belongs.
        position = loc[-1] if loc and isinstance(loc[-1], int) else 0
        return {"field": "body", "message": _not_json(body, position, err.get("ctx") or {})}
    inside = loc[1:] if loc and loc[0] in _SOURCES else loc
    field = ".".join(str(p) for p in inside) or (loc[0] if loc == ("body",) else None)
    if field == "body" and err.get("type") == "missing":
        return {"field": field, "message": "the request needs a JSON body; see /docs for it"}
    return {"field": field, "message": err.get("msg", "")}


def _not_json(document: Any, position: int, ctx: dict[str, Any]) -> str:
    text = document if isinstance(document, str) else ""
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    reason = str(ctx.get("error", "")).strip()
    said = f": {reason[:1].lower()}{reason[1:]}" if reason else ""
    return (f"the request body is not valid JSON (line {line} column {column}){said}; "
            "send one JSON object, with names and texts in double quotes")


def install(app: FastAPI) -> None:
    @app.exception_handler(ClientHubError)
    async def _domain(_: Request, exc: ClientHubError) -> JSONResponse:
        field = exc.field if isinstance(exc, InvalidInput | Conflict) else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
        return JSONResponse(_body(exc.message, field), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(err, exc.body) for err in exc.errors()]
        first = problems[0] if problems else {"field": None, "message": "invalid input"}
        message = (
            f"{first['field']}: {first['message']}"
            if first["field"] not in (None, "body") else str(first["message"])
        )
        return JSONResponse(_body(message, first["field"], problems=problems), 422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and wants_page(request):
            # A browser at an address no page has: the web view's own not-found page.
            return await run_in_threadpool(unknown_path_page, request)
        messages = {
            404: "no such endpoint; see /docs for the API",
            405: "this endpoint does not take that method; see /docs",
        }
        if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
            # FastAPI's answer to a body it cannot decode (not UTF-8, a broken form): bad
            # input like any other, so a 422 on the body.
            return JSONResponse(_body(
                "the request body could not be read; send one JSON object in UTF-8 with "
                "'Content-Type: application/json'", "body"), 422)
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse(_body(message), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The request's transaction has been rolled back by then; the trace goes to the
        # log under a reference the person can quote, never to the caller.
        reference = secrets.token_hex(6)
        log.error("unexpected error %s on %s %s", reference, request.method,
                  request.url.path, exc_info=exc)
        return JSONResponse(_body(
            f"something went wrong on the server and nothing was saved; try again, and if "
            f"it happens again give your administrator the reference {reference}"), 500)
