"""One transaction per request, committed before the answer leaves.

:class:`RequestTransactions` wraps the application. It opens each request's session on
first use (:func:`api.deps.get_session` hands it out), holds back the answer's first
message until the transaction is settled, and only then sends it:

- an answer below 400 commits (with the stored answer of an ``Idempotency-Key``, in the
  same transaction); a commit that fails is answered 409 or 503 instead - a client is
  never told 2xx about a change that was not stored;
- any other answer, or an exception, rolls back.

Committing in a dependency's exit would not do: FastAPI runs those after the answer is
sent (a client could use an id before its row exists), and a function-scoped one runs
before the answer exists, which an idempotency key must be stored with.

It also bounds the requests served at once (:data:`MAX_REQUESTS`): each holds at most
one database connection, so with the pool as large, no request ever waits for one while
holding a thread another needs; the rest wait their turn without holding either.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.db import hub_session, utcnow
from hub.errors import ClientHubError, InvalidInput
from hub.idempotency import service as request_keys
from hub.idempotency.service import StoredAnswer

log = logging.getLogger(__name__)

#: Requests served at once by default: below the 40 threads of the server's pool, so
#: that one waiting for the SQLite writer lock never starves the one holding it.
MAX_REQUESTS = 32

_UNIT = "clienthub.unit"
_WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Replay(Exception):
    """The request was made before under its key: send the stored answer again."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replayed")
        self.answer = answer


class RequestUnit:
    """One request's session, and what its answer must be stored with."""

    def __init__(self, factory: sessionmaker[Session], method: str) -> None:
        self._factory = factory
        self.writing = method in _WRITING_METHODS
        self._session: Session | None = None
        self.key: str | None = None
        self.fingerprint = ""
        self.user_id: int | None = None
        self.replayed = False

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._factory()
        return self._session

    def identify(self, user_id: int) -> None:
        """The caller is known: a keyed request made before is answered as it was then.

        Then the authentication's transaction ends (a read's commits the token's
        last-used stamp, written at most once a minute, so that the read holds no write
        lock while it reads); a request that writes takes the write turn with its next
        one, before it reads what it checks. Routes that work in sessions of their own
        (folder steps) then never wait on their own request."""
        self.user_id = user_id
        session = hub_session(self.session)
        if self.key is not None:
            stored = request_keys.find(session, user_id, self.key, self.fingerprint, utcnow())
            if stored is not None:
                self.replayed = True
                raise Replay(stored)
        if self.writing or session.has_written():
            session.commit()
        if self.writing:
            session.take_write_turns()

    def settle(self, status: int, body: bytes | None) -> Response | None:
        """Commit (status below 400) or roll back; an answer to send instead, if any."""
        if self._session is None:
            return None
        session = self._session
        if self.replayed or status >= 400:
            session.rollback()
            return None
        try:
            if self.key is not None and self.user_id is not None and body is not None:
                request_keys.remember(session, self.user_id, self.key, self.fingerprint,
                                      StoredAnswer(status, body), utcnow())
            session.commit()
        except IntegrityError:
            session.rollback()
            return self._after_conflict()
        except ClientHubError as exc:
            session.rollback()
            return _error(exc.status_code, exc.message)
        except Exception:
            log.exception("a request's changes could not be committed")
            session.rollback()
            return _error(503, "the change could not be stored and nothing was saved; try "
                               "again in a moment, and tell the administrator if it persists")
        return None

    def _after_conflict(self) -> Response:
        # The same key committed by a retry that raced this one: its answer is this one's.
        if self.key is not None and self.user_id is not None:
            try:
                stored = request_keys.find(self.session, self.user_id, self.key,
                                           self.fingerprint, utcnow())
            except InvalidInput as exc:
                return _error(422, exc.message, exc.field)
            finally:
                self.session.rollback()
            if stored is not None:
                return _stored(stored)
        return _error(409, "the change collides with another made at the same time and was "
                           "not saved; reload and try again")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    @property
    def idle(self) -> bool:
        """Nothing is left to do in the database: settling and closing the session are
        then plain Python (a read's audit row has committed; no connection is held),
        and need no hop to the thread pool and back."""
        return self.key is None and (self._session is None
                                     or not self._session.in_transaction())


def request_unit(request: Request) -> RequestUnit:
    unit = request.scope.get("state", {}).get(_UNIT)
    if not isinstance(unit, RequestUnit):
        raise RuntimeError("no request transaction; create the app with api.app.create_app")
    return unit


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message}
    if field:
        error["field"] = field
    return JSONResponse({"error": error}, status)


def _stored(answer: StoredAnswer) -> Response:
    return Response(answer.body, answer.status, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"})


class RequestTransactions:
    """The ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, factory: sessionmaker[Session],
                 max_requests: int = MAX_REQUESTS) -> None:
        self.app = app
        self.factory = factory
        self.max_requests = max_requests
        self._slots: anyio.Semaphore | None = None

    def _ready(self) -> anyio.Semaphore:
        if self._slots is None:
            self._slots = anyio.Semaphore(self.max_requests)
            # Each request in flight uses at most one thread at a time; leave spare ones.
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(int(limiter.total_tokens), self.max_requests + 8)
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._ready():
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        unit = RequestUnit(self.factory, scope["method"])
        scope.setdefault("state", {})[_UNIT] = unit
        key = _header(scope, request_keys.HEADER)
        if key is not None and scope["method"] == "POST":
            try:
                unit.key = request_keys.check_key(key)
            except InvalidInput as exc:
                await _error(422, exc.message, exc.field)(scope, receive, send)
                return
            body, receive = await _read_body(receive)
            target = scope["path"] + ("?" + scope["query_string"].decode()
                                      if scope.get("query_string") else "")
            unit.fingerprint = request_keys.fingerprint(scope["method"], target, body)

        held: list[Message] = []
        settled = replaced = False

        async def answer(message: Message) -> None:
            nonlocal settled, replaced
            if replaced:
                return
            if settled or message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.start":
                return
            # The first of the body: nothing has left yet, and now nothing may before the
            # transaction is settled. A streamed answer is committed, not kept for a key.
            complete = not message.get("more_body", False)
            body = b"".join(m.get("body", b"") for m in held[1:]) if complete else None
            status = int(held[0]["status"])
            instead = (unit.settle(status, body) if unit.idle else
                       await run_in_threadpool(unit.settle, status, body))
            settled = True
            if instead is not None:
                replaced = True
                await instead(scope, _no_more_body, send)
                return
            for item in held:
                await send(item)

        try:
            await self.app(scope, receive, answer)
        finally:
            if unit.idle:
                unit.close()
            else:
                await run_in_threadpool(unit.close)


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that hands it to the application as if unread."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    given = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _no_more_body() -> MutableMapping[str, Any]:
    return {"type": "http.disconnect"}


def install(app: FastAPI, factory: sessionmaker[Session], max_requests: int) -> None:
    @app.exception_handler(Replay)
    async def _replay(_: Request, exc: Replay) -> Response:
        return _stored(exc.answer)

    app.add_middleware(RequestTransactions, factory=factory, max_requests=max_requests)
