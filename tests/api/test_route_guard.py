"""Every route but a short public list requires the authenticated principal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from api.app import PUBLIC_PATHS, create_app
from api.deps import current_principal
from api.web.deps import signed_in
from hub.staff.service import create_token
from tests import factories as f


def _routes(routes: list[Any]) -> Iterator[tuple[str, set[str], Any]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.dependant
        elif hasattr(route, "effective_route_contexts"):  # an included router
            for ctx in route.effective_route_contexts():
                yield ctx.path, set(ctx.methods or ()), ctx.dependant
        else:
            yield getattr(route, "path", repr(route)), set(getattr(route, "methods", ())), None


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


#: What yields the principal: an API token's holder, or a signed-in web page's viewer.
GUARDS = {current_principal, signed_in}


def test_every_route_depends_on_the_principal(tmp_path):
    app = create_app()
    unguarded = [
        (path, methods)
        for path, methods, dependant in _routes(app.router.routes)
        if path not in PUBLIC_PATHS
        and (dependant is None or not GUARDS & set(_calls(dependant)))
    ]
    assert unguarded == []
    assert {"/", "/clients/{client_id}", "/admin"} <= {
        path for path, _, dependant in _routes(app.router.routes)
        if dependant is not None and signed_in in set(_calls(dependant))}
    assert len(list(_routes(app.router.routes))) > 30  # the walk did reach the API


def test_every_api_operation_answers_401_without_a_token(api):
    spec = api.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            response = api.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.text)
            assert "Bearer" in response.json()["error"]["message"]
            checked += 1
    assert checked > 40


# -- an id the caller cannot see answers as an id that does not exist ----------------------

#: What stands for "no such object" in each kind of path parameter.
MISSING: dict[str, Any] = {"key": "no-such-role", "scope": "987654321"}
MISSING_ID = 987654321


@dataclass
class Firm:
    """A small firm in which the caller, a staff member with no responsibility, sees
    nothing: one existing instance of each kind of object an API path names."""

    caller: dict[str, str]
    ids: dict[str, Any]
    #: A staff member who sees one client (``seen``) and owns a mailbox with a message
    #: (``own_message``) linked to it: the parent objects of nested paths.
    reader: dict[str, str]
    seen: dict[str, Any]


@pytest.fixture
def firm(session) -> Firm:
    mikko = f.user(session, name="Mikko")
    liisa = f.user(session, name="Liisa")
    group = f.group(session)
    special = f.special(session)
    client = f.client(session, group=group, specials=[special])
    responsibility = f.responsibility(session, mikko, client)
    f.rule(session, "role", "full", role="asiakasvastaava")
    rule = f.rule(session, "admin", "metadata", group=group)
    now = datetime.now(UTC)
    cover = f.cover(session, mikko, liisa, now - timedelta(days=1), now + timedelta(days=9))
    mailbox = f.account(session, mikko, kind="mail_archive",
                        settings={"path": "/nonexistent.mbox"})
    drive = f.account(session, mikko)
    message = f.message(session, mailbox, to=client)
    entry = f.entry(session, client, owner=mikko.id)
    action = f.folder_action(session, drive, client)
    token, _ = create_token(session, None, mikko)
    caller = f.user(session, name="Staff Without Clients")
    secret = f.token(session, caller)
    reader = f.user(session, name="Reader Of One Client")
    theirs = f.client(session)
    f.responsibility(session, reader, theirs)
    private = f.entry(session, theirs, owner=mikko.id)
    private.is_private = True
    own_message = f.message(session, f.account(session, reader, kind="mail_archive"), to=theirs)
    reader_secret = f.token(session, reader)
    session.commit()
    return Firm(
        reader={"Authorization": f"Bearer {reader_secret}"},
        seen={"client_id": theirs.id, "message_id": own_message.id,
              "other_clients_entry": entry.id, "private_entry": private.id,
              "invisible_client": client.id},
        caller={"Authorization": f"Bearer {secret}"}, ids={
        "client_id": client.id, "entry_id": entry.id, "message_id": message.id,
        "thread_id": message.thread_id, "account_id": drive.id, "user_id": mikko.id,
        "token_id": token.id, "responsibility_id": responsibility.id, "cover_id": cover.id,
        "rule_id": rule.id, "action_id": action.id, "key": "asiakasvastaava",
        "scope": str(group.id), "group_id": group.id,
        "/special-groups/{group_id}": special.id,
    })


def _existing(firm: Firm, path: str, name: str) -> Any:
    for prefix, value in firm.ids.items():  # a name that means another kind under a path
        if prefix.startswith("/") and path.startswith(f"/api/v1{prefix.split('{')[0]}") \
                and f"{{{name}}}" in prefix:
            return value
    return firm.ids[name]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A minimal value the schema accepts: required properties only, smallest values."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(spec, o).get("type") != "null"]
            return _example(spec, options[0]) if options else None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _example(spec, schema["properties"][name])
                for name in schema.get("required", [])}
    if kind == "array":
        return [_example(spec, schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1)), 1.0)
    if kind == "boolean":
        return False
    formats = {"date": "2026-01-01", "date-time": "2026-01-01T00:00:00Z",
               "email": "someone@firm.test", "uri": "https://firm.test/"}
    text = formats.get(schema.get("format", ""), "Nimi")
    return text.ljust(int(schema.get("minLength", 1)), "x")


def _body(spec: dict[str, Any], operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _example(spec, content["application/json"]["schema"])


def _answer(response: Any, values: list[Any]) -> tuple[int, Any, str]:
    """Status, the error body's shape, and its message with the ids made alike."""
    try:
        body = response.json()
    except ValueError:
        return response.status_code, "not JSON", response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return response.status_code, sorted(body) if isinstance(body, dict) else "not an error", ""
    message = str(error.get("message", ""))
    for value in sorted(values, key=lambda v: -len(str(v))):
        message = re.sub(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", "<id>", message)
    return response.status_code, sorted(error), message


def test_an_invisible_id_answers_as_a_missing_one_on_every_operation(api, firm):
    spec = api.get("/openapi.json").json()
    mismatches, checked = [], 0
    for path, operations in spec["paths"].items():
        names = re.findall(r"\{([^}]+)\}", path)
        if not names:
            continue
        for method, operation in operations.items():
            body = _body(spec, operation)
            existing = {name: _existing(firm, path, name) for name in names}
            url = path.format(**existing)
            seen = api.request(method.upper(), url, headers=firm.caller, json=body)
            assert seen.status_code not in (200, 201, 204), (method, path, seen.text)
            for name in names:  # each id in turn made one that does not exist
                missing = {**existing, name: MISSING.get(name, MISSING_ID)}
                gone = api.request(method.upper(), path.format(**missing),
                                   headers=firm.caller, json=body)
                ids = [*existing.values(), *missing.values()]
                a, b = _answer(seen, ids), _answer(gone, ids)
                if a != b:
                    mismatches.append(f"{method.upper()} {path} ({name}): invisible {a} / "
                                      f"missing {b}")
                checked += 1
    assert checked > 40  # the walk did reach the API
    assert mismatches == [], "\n".join(mismatches)


def test_an_invisible_object_under_a_visible_one_answers_as_a_missing_one(api, firm):
    """Nested paths and ids in bodies: the parent is the reader's own, the object under
    it is not theirs to see (another client's entry, a private entry, a client they do
    not see) - answered as for an object that does not exist."""
    spec = api.get("/openapi.json").json()
    seen = firm.seen
    # (method, path, path ids, body, where the id under test is: a path name or "body")
    cases = [
        ("get", "/api/v1/clients/{client_id}/timeline/{entry_id}",
         {"client_id": seen["client_id"], "entry_id": seen["other_clients_entry"]}, None,
         "entry_id"),
        ("get", "/api/v1/clients/{client_id}/timeline/{entry_id}",
         {"client_id": seen["client_id"], "entry_id": seen["private_entry"]}, None,
         "entry_id"),
        ("delete", "/api/v1/messages/{message_id}/links/{client_id}",
         {"message_id": seen["message_id"], "client_id": seen["invisible_client"]}, None,
         "client_id"),
        ("post", "/api/v1/messages/{message_id}/links", {"message_id": seen["message_id"]},
         {"client_id": seen["invisible_client"]}, "body"),
    ]
    nested = {path for path in spec["paths"] if len(re.findall(r"\{[^}]+\}", path)) > 1}
    assert nested <= {path for _, path, *_ in cases}, "a nested path needs a case here"
    mismatches = []
    for method, path, ids, body, under_test in cases:
        assert method in spec["paths"][path]
        seen_answer = api.request(method.upper(), path.format(**ids), headers=firm.reader,
                                  json=body)
        if under_test == "body":
            missing_ids, missing_body = ids, {**body, "client_id": MISSING_ID}
        else:
            missing_ids, missing_body = {**ids, under_test: MISSING_ID}, body
        gone = api.request(method.upper(), path.format(**missing_ids), headers=firm.reader,
                           json=missing_body)
        values = [*ids.values(), MISSING_ID, *(body or {}).values()]
        a, b = _answer(seen_answer, values), _answer(gone, values)
        if a != b or seen_answer.status_code < 400:
            mismatches.append(f"{method.upper()} {path} ({under_test}): invisible {a} / "
                              f"missing {b}")
    assert mismatches == [], "\n".join(mismatches)
