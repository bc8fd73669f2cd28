"""The API against its own OpenAPI document: every operation, with generated valid and
invalid input, as an admin, on both databases. No input is a server error, and every
4xx answer is the hub's error body ``{"error": {"message": ..., ...}}``.

The run is seeded (derandomized) and bounded so CI repeats it in about a minute. The
admin's token must survive the run: a case that would revoke it, or deactivate or demote
the admin, is not sent (it would turn every later case into a 401).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from api.app import create_app
from hub.staff.service import create_token
from tests import factories as f

#: Generated cases per operation and generation mode.
EXAMPLES = 10


def _firm(session: Any) -> tuple[dict[str, str], int, int]:
    """An admin who reads every client, a few rows for generated ids to hit; the admin's
    headers, user id and token id."""
    admin = f.user(session, admin=True, name="Anna Admin")
    token, secret = create_token(session, None, admin)
    f.rule(session, "admin", "full")
    mikko = f.user(session, name="Mikko")
    group = f.group(session)
    client = f.client(session, group=group)
    f.responsibility(session, mikko, client)
    now = datetime.now(UTC)
    f.cover(session, mikko, admin, now - timedelta(days=1), now + timedelta(days=3))
    mailbox = f.account(session, admin, kind="mail_archive", settings={"path": "/x.mbox"})
    f.message(session, mailbox, to=client)
    f.entry(session, client, owner=admin.id)
    f.folder_action(session, f.account(session, admin), client)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}, admin.id, token.id


def _spares_the_admin(case: Any, admin_id: int, token_id: int) -> bool:
    """False for a case that would end the admin's token: revoking it, deleting
    (deactivating) the admin, or taking away the admin's rights or activity."""
    path, method = case.operation.path, case.method.upper()
    params = case.path_parameters or {}
    if path == "/api/v1/me/tokens/{token_id}" and method == "DELETE":
        return str(params.get("token_id")) != str(token_id)
    if path == "/api/v1/users/{user_id}" and method in ("DELETE", "PATCH"):
        return str(params.get("user_id")) != str(admin_id)
    return True


def _problems(response: Any) -> list[str]:
    if response.status_code >= 500:
        return [f"server error {response.status_code}: {response.text[:300]}"]
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            return [f"{response.status_code} without a JSON body: {response.text[:200]}"]
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            return [f"{response.status_code} body is not {{'error': {{'message': ...}}}}: "
                    f"{str(body)[:200]}"]
    return []


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str], admin_id: int,
              token_id: int) -> tuple[list[str], bool]:
    """Each kind of problem a seeded run of the operation meets (by exception or status
    and message), with a request that reproduces it."""
    found: dict[str, str] = {}
    answered: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if not _spares_the_admin(case, admin_id, token_id):
            return
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the app raised: a server error
            problems = [f"raised {type(exc).__name__}: {str(exc)[:300]}"]
        else:
            problems = _problems(response)
            answered.append(response.status_code)
        for problem in problems:
            found.setdefault(problem.split(":")[0],
                             f"{problem}\n    {case.as_curl_command(headers=headers)}")

    run()
    return list(found.values()), any(status < 300 for status in answered)


def test_no_generated_request_is_a_server_error_or_a_bare_4xx(engine, session, db_kind):
    headers, admin_id, token_id = _firm(session)
    app = create_app(engine=engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = succeeded = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problems, ok = _exercise(operation, mode, headers, admin_id, token_id)
            failures += [f"{operation.method.upper()} {operation.path} [{mode.value}]: {p}"
                         for p in problems]
            succeeded += ok and mode == GenerationMode.POSITIVE
    # The token lasted: the run did not turn into a series of 401s.
    with TestClient(app) as client:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert operations > 40
    # Many operations were reached past validation and access: the run tested something.
    assert succeeded > operations // 3, (succeeded, operations)
    assert failures == [], f"{len(failures)} failures on {db_kind}:\n" + "\n".join(failures)
