"""Bad input as a class: every operation of the OpenAPI document is driven, as an admin,
with ids no row can have, text too long for its column or holding characters a database
refuses or a reader is fooled by, times that cannot be stored and cursors of the wrong
shape. Each answer is a 422 naming the field (a 404 for a path id whose row does not
exist), never a 500. The walk of the document also fails on any string, integer or list
that is not bounded, so the class stays closed as the API grows."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Text as TextColumn

from hub.access.models import Cover
from hub.accounts.models import Account
from hub.clients.models import (
    Client,
    ClientDomain,
    ClientGroup,
    Contact,
    ContactEmail,
    Role,
    SpecialGroup,
)
from hub.drive.models import ClientRoot
from hub.errors import InvalidInput
from hub.folders.models import FolderSettings
from hub.paging import decode_cursor, encode_cursor
from hub.schemas import ID_MAX, LONG_TEXT, In
from hub.staff.models import ApiToken, User
from hub.timeline.models import TimelineEntry

BIG = 2**63
MEGABYTE = "x" * 1_000_000
BAD_TEXT = {"nul": "a\x00b", "control": "a\x1bb", "bidi override": "Oy \u202eAcme",
            "bidi isolate": "Oy \u2067Acme\u2069"}
BAD_TIMES = ["0001-01-01T00:00:00", "0001-01-01T00:00:00+00:00",
             "9999-12-31T23:59:00-14:00", "9999-12-31T23:59:00+14:00", "3000-01-01"]
#: Free-form settings checked per account kind by hub.accounts, not by their shape.
FREE_FORM = {("AccountIn", "settings"), ("AccountPatch", "settings")}


# --- the document -----------------------------------------------------------------------


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _leaves(doc: dict[str, Any], schema: dict[str, Any], where: str,
            seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, schema) of every value a body can hold; list items are ``.0``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(doc, schema)
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            yield from _leaves(doc, option, where, seen)
    if schema.get("type") == "object" and "properties" in schema:
        for name, sub in schema["properties"].items():
            yield from _leaves(doc, sub, f"{where}.{name}".lstrip("."), seen)
        return
    if "anyOf" not in schema:
        yield where, schema
    if schema.get("type") == "array":
        yield from _leaves(doc, schema.get("items", {}), f"{where}.0", seen)


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            yield method.upper(), path, op


def _unbounded(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if schema.get("format") in ("date-time", "date"):
        return None  # hub.schemas.Moment bounds the years
    if kind == "string" and "enum" not in schema and "const" not in schema \
            and "maxLength" not in schema:
        return "a string without maxLength"
    if kind == "integer" and ("minimum" not in schema or "maximum" not in schema):
        return "an integer without minimum and maximum"
    if kind == "array" and "maxItems" not in schema:
        return "a list without maxItems"
    return None


@pytest.fixture
def doc(api) -> dict[str, Any]:
    return api.get("/openapi.json").json()


def test_every_parameter_and_body_field_is_bounded(doc):
    problems = []
    for method, path, op in _operations(doc):
        for param in op.get("parameters", []):
            for _, schema in _leaves(doc, param["schema"], param["name"]):
                if (why := _unbounded(schema)) is not None:
                    problems.append(f"{method} {path} {param['in']} {param['name']}: {why}")
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            model = body["schema"].get("$ref", "").rsplit("/", 1)[-1]
            for where, schema in _leaves(doc, body["schema"], ""):
                if (model, where.split(".")[0]) in FREE_FORM:
                    continue
                if (why := _unbounded(schema)) is not None:
                    problems.append(f"{method} {path} body {where}: {why}")
    assert problems == []


def _in_models() -> Iterator[type[In]]:
    stack = list(In.__subclasses__())
    while stack:
        model = stack.pop()
        stack += model.__subclasses__()
        yield model


def test_every_in_model_is_bounded():
    """Models not (yet) behind a route too: every In subclass."""
    problems = []
    for model in _in_models():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        doc = {"components": {"schemas": schema.get("$defs", {}) | {model.__name__: schema}}}
        for where, leaf in _leaves(doc, {"$ref": f"#/{model.__name__}"}, ""):
            if (model.__name__, where.split(".")[0]) in FREE_FORM:
                continue
            if (why := _unbounded(leaf)) is not None:
                problems.append(f"{model.__name__}.{where}: {why}")
    assert problems == []


#: Where each text field of an In model is stored. A new text field must be added here,
#: which checks that its bound fits the column.
COLUMNS = {
    ("AccessRuleIn", "role"): Role.key,
    ("AccountIn", "name"): Account.name, ("AccountPatch", "name"): Account.name,
    ("AccountIn", "secret"): Account.secret, ("AccountPatch", "secret"): Account.secret,
    ("ClientGroupIn", "name"): ClientGroup.name, ("ClientGroupPatch", "name"): ClientGroup.name,
    ("ClientIn", "name"): Client.name, ("ClientPatch", "name"): Client.name,
    ("ClientIn", "business_id"): None, ("ClientPatch", "business_id"): None,  # normalised
    ("ClientIn", "domains.0"): ClientDomain.domain,
    ("ClientPatch", "domains.0"): ClientDomain.domain,
    ("ClientIn", "summary"): Client.summary, ("ClientPatch", "summary"): Client.summary,
    ("ContactIn", "name"): Contact.name, ("ContactIn", "phone"): Contact.phone,
    ("ContactIn", "role"): Contact.role, ("ContactIn", "emails.0"): ContactEmail.email,
    ("CoverIn", "note"): Cover.note, ("CoverPatch", "note"): Cover.note,
    ("DriveRootIn", "path"): ClientRoot.path,
    ("NewTokenIn", "name"): ApiToken.name,
    ("NoteIn", "text"): TimelineEntry.body,
    ("PasswordIn", "password"): None,  # stored as its argon2 hash, of fixed length
    ("ResponsibilityIn", "role"): Role.key, ("ResponsibilityPatch", "role"): Role.key,
    ("RoleIn", "key"): Role.key, ("RoleIn", "name_fi"): Role.name_fi,
    ("RoleIn", "name_en"): Role.name_en, ("RolePatch", "name_fi"): Role.name_fi,
    ("RolePatch", "name_en"): Role.name_en,
    ("SpecialGroupIn", "name"): SpecialGroup.name, ("SpecialGroupPatch", "name"): SpecialGroup.name,
    ("SpecialGroupIn", "description"): SpecialGroup.description,
    ("SpecialGroupPatch", "description"): SpecialGroup.description,
    ("TemplateIn", "text"): FolderSettings.template_text,
    ("UserIn", "name"): User.name, ("UserPatch", "name"): User.name,
    ("UserIn", "email"): User.email, ("UserPatch", "email"): User.email,
}


def test_text_fields_fit_their_columns():
    problems = []
    for model in _in_models():
        schema = model.model_json_schema()
        nested = frozenset(schema.get("$defs", {}))  # In models of their own, walked apart
        doc = {"components": {"schemas": schema.get("$defs", {}) | {model.__name__: schema}}}
        for where, leaf in _leaves(doc, {"$ref": f"#/{model.__name__}"}, "", nested):
            if leaf.get("type") != "string" or "enum" in leaf \
                    or leaf.get("format") == "date-time" \
                    or (model.__name__, where.split(".")[0]) in FREE_FORM:
                continue
            key = (model.__name__, where)
            if key not in COLUMNS:
                problems.append(f"{model.__name__}.{where}: say in COLUMNS where it is stored")
                continue
            column = COLUMNS[key]
            if column is None:
                continue
            limit = LONG_TEXT if isinstance(column.type, TextColumn) else column.type.length
            if leaf["maxLength"] > limit:
                problems.append(f"{model.__name__}.{where}: {leaf['maxLength']} > {limit}")
    assert problems == []


# --- driving every operation ------------------------------------------------------------


def _sample(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value the schema accepts (as far as its shape goes)."""
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        return _sample(doc, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _sample(doc, sub) for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", [])}
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-05T09:00:00+02:00"
    if fmt == "email":
        return "someone@firm.fi"
    if "pattern" in schema:
        return "role_x"
    return "x"


def _set(body: Any, where: str, value: Any, doc: dict[str, Any],
         schema: dict[str, Any]) -> Any:
    """``body`` with ``value`` at the dotted path, building the containers on the way."""
    head, _, rest = where.partition(".")
    schema = _resolve(doc, schema)
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        item = _set(_sample(doc, schema["items"]), rest, value, doc, schema["items"]) \
            if rest else value
        return [item]
    out = dict(body or {})
    sub = schema["properties"][head]
    out[head] = _set(out.get(head) or _sample(doc, sub), rest, value, doc, sub) if rest \
        else value
    return out


def _url(path: str, params: list[dict[str, Any]], override: dict[str, Any]) -> str:
    values = {p["name"]: quote(str(override.get(p["name"], ID_MAX if _is_int(p) else "default")),
                               safe="")
              for p in params if p["in"] == "path"}
    return path.format(**values)


def _is_int(param: dict[str, Any]) -> bool:
    schema = param["schema"]
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("anyOf", []))


def _is_text(param: dict[str, Any]) -> bool:
    schema = param["schema"]
    return (schema.get("type") == "string" and "enum" not in schema) or any(
        s.get("type") == "string" and "enum" not in s for s in schema.get("anyOf", []))


def _query(params: list[dict[str, Any]], override: dict[str, Any]) -> dict[str, Any]:
    query = {p["name"]: 1 for p in params if p["in"] == "query" and p.get("required")}
    query.update({k: v for k, v in override.items()
                  if any(p["name"] == k and p["in"] == "query" for p in params)})
    return query


def _refused(response, field: str, *, path_id: bool = False) -> str | None:
    """None when the answer is right; else what is wrong with it."""
    if response.status_code == 404 and path_id:
        return None
    if response.status_code != 422:
        return f"{response.status_code} {response.text[:200]}"
    error = response.json().get("error", {})
    if not error.get("message") or error.get("field") != field:
        return f"422 naming {error.get('field')!r}, not {field!r}: {error.get('message')}"
    return None


def _probes(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str, Any]]:
    """(method, path, operation, where, bad value) for every input of every operation."""
    for method, path, op in _operations(doc):
        for param in op.get("parameters", []):
            where = f"{param['in']}:{param['name']}"
            if _is_int(param):
                yield method, path, op, where, BIG
                yield method, path, op, where, ID_MAX + 1
            elif _is_text(param):
                yield method, path, op, where, "x" * 20_000
                for bad in BAD_TEXT.values():
                    yield method, path, op, where, bad
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if not body:
            continue
        model = body["schema"].get("$ref", "").rsplit("/", 1)[-1]
        for where, leaf in _leaves(doc, body["schema"], ""):
            if (model, where.split(".")[0]) in FREE_FORM:
                continue
            if leaf.get("type") == "integer":
                for bad in (BIG, ID_MAX + 1, -BIG, True, 1.5):
                    yield method, path, op, f"body:{where}", bad
            elif leaf.get("type") == "string" and leaf.get("format") == "date-time":
                for bad in BAD_TIMES:
                    yield method, path, op, f"body:{where}", bad
            elif leaf.get("type") == "string" and "enum" not in leaf:
                yield method, path, op, f"body:{where}", MEGABYTE
                for bad in BAD_TEXT.values():
                    yield method, path, op, f"body:{where}", bad


def test_every_input_of_every_operation_refuses_bad_values(api, admin, doc):
    problems = []
    for method, path, op, where, bad in _probes(doc):
        kind, _, name = where.partition(":")
        params = op.get("parameters", [])
        body_schema = op.get("requestBody", {}).get("content", {}).get(
            "application/json", {}).get("schema")
        body = _sample(doc, body_schema) if body_schema else None
        if kind == "body":
            body = _set(body, name, bad, doc, body_schema)
        override = {name: bad} if kind in ("path", "query") else {}
        url = _url(path, params, override if kind == "path" else {})
        response = api.request(method, url, headers=admin.headers,
                               params=_query(params, override if kind == "query" else {}),
                               json=body)
        wrong = _refused(response, name, path_id=kind == "path" and bad in (BIG, ID_MAX + 1))
        if wrong is not None:
            problems.append(f"{method} {path} {where}={str(bad)[:30]!r}: {wrong}")
    assert problems == []


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CRAFTED = [{"x": 1}, {"id": "abc"}, {"id": BIG}, {"id": True}, {"id": 1.5}, [], "id", 7,
           {"n": BIG}, {"a": 1, "p": "\x00"}, {"f": 1, "n": "x"}, {"a": 1, "s": "1", "i": 1},
           {"t": "2026-01-01T00:00:00", "id": 1}, {"t": "9999-12-31T23:59:00-14:00", "id": 1},
           {"t": "0001-01-01T00:00:00+00:00", "id": 1}, {"t": "not a time", "id": 1},
           {"t": "2026-01-01T00:00:00+00:00", "id": 1, "more": 1}]


def test_crafted_cursors_are_422_on_every_list(api, admin, doc):
    problems = []
    for method, path, op in _operations(doc):
        for param in op.get("parameters", []):
            if param["in"] != "query" or param["name"] not in ("before", "after"):
                continue
            for crafted in CRAFTED:
                url = _url(path, op["parameters"], {})
                response = api.request(method, url, headers=admin.headers,
                                       params=_query(op["parameters"],
                                                     {param["name"]: _cursor(crafted)}))
                wrong = _refused(response, param["name"], path_id="{" in path)
                if wrong is not None:
                    problems.append(f"{method} {path} {param['name']}={crafted!r}: {wrong}")
    assert problems == []


def test_crafted_cursors_reach_the_timeline_check(api, admin):
    """With a client the admin sees, the timeline's cursor is checked, not just the path."""
    rule = api.post("/api/v1/access-rules", headers=admin.headers,
                    json={"subject": "admin", "level": "full"})
    assert rule.status_code == 201, rule.text
    client = api.post("/api/v1/clients", headers=admin.headers, json={"name": "Kursori Oy"})
    assert client.status_code == 201, client.text
    url = f"/api/v1/clients/{client.json()['id']}/timeline"
    for crafted in CRAFTED:
        response = api.get(url, headers=admin.headers, params={"before": _cursor(crafted)})
        assert _refused(response, "before") is None, (crafted, response.text)


@pytest.mark.parametrize("shape, value", [
    ({"id": int}, {"id": 5}), ({"f": bool, "n": str}, {"f": True, "n": "Kirjanpito"}),
    ({"t": datetime, "id": int},
     {"t": "2026-01-01T00:00:00+02:00", "id": 3}),
])
def test_cursors_handed_out_come_back(shape, value):
    decoded = decode_cursor(encode_cursor(value), shape)
    assert set(decoded) == set(value)


@pytest.mark.parametrize("crafted", CRAFTED)
def test_decode_cursor_refuses_the_wrong_shape(crafted):
    for shape in ({"id": int}, {"t": datetime, "id": int}, {"a": int, "p": str},
                  {"f": bool, "n": str}, {"a": int, "s": int, "i": int}, {"n": int}):
        with pytest.raises(InvalidInput) as info:
            decode_cursor(_cursor(crafted), shape, "after")
        assert info.value.field == "after"


# --- what the bounds are for --------------------------------------------------------------


def test_a_bidi_override_cannot_disguise_a_client_name(api, admin):
    for name in ("Oy \u202eemcA", "Oy \u2066Acme\u2069", "Oy\u200fAcme", "Oy\x00Acme"):
        response = api.post("/api/v1/clients", headers=admin.headers, json={"name": name})
        assert _refused(response, "name") is None, (name, response.text)
    # Prose keeps its line breaks and direction marks.
    ok = api.post("/api/v1/clients", headers=admin.headers,
                  json={"name": "Oy Acme", "summary": "rivi 1\nrivi 2 \u200f"})
    assert ok.status_code == 201, ok.text


def test_text_is_stored_in_nfc(api, admin):
    decomposed = "Ma\u0308kinen Oy"
    created = api.post("/api/v1/clients", headers=admin.headers, json={"name": decomposed})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "M\u00e4kinen Oy"


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31T23:59:00-14:00", "1899-12-31"])
def test_out_of_range_time_in_a_query_is_422(api, admin, value):
    response = api.get("/api/v1/responsibilities", headers=admin.headers,
                       params={"active_at": value})
    assert _refused(response, "active_at") is None, response.text


def test_template_years_are_bounded(api, admin):
    response = api.put("/api/v1/folders/templates/default", headers=admin.headers,
                       json={"text": "years: 99999999999 back, 1 ahead\nKirjanpito/{year}/\n"})
    assert _refused(response, "text") is None, response.text
    for scope in ("\u0661", "\uff11", str(BIG)):  # Arabic-Indic and full-width one, 2**63
        response = api.get(f"/api/v1/folders/templates/{scope}", headers=admin.headers)
        assert _refused(response, "scope") is None, (scope, response.text)


@pytest.mark.parametrize("args", [["tokens", "revoke", str(BIG)],
                                  ["folders", "undo", "--by", "a@firm.fi", str(ID_MAX + 1)],
                                  ["folders", "check", "--client", "0"],
                                  ["sync", "--account", str(BIG)]])
def test_the_command_line_refuses_ids_no_row_can_have(args):
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output
