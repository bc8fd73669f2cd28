"""Admin endpoints: users, clients, groups, roles, responsibilities, covers, rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import ok


def test_non_admin_gets_403_with_a_reason(api, make_caller):
    plain = make_caller()
    for method, url in [("GET", "/api/v1/users"), ("POST", "/api/v1/client-groups"),
                        ("GET", "/api/v1/responsibilities"), ("GET", "/api/v1/audit"),
                        ("GET", "/api/v1/covers"), ("DELETE", "/api/v1/access-rules/1")]:
        response = api.request(method, url, headers=plain.headers, json={"name": "x"})
        assert response.status_code == 403, (url, response.text)
        assert "admin" in response.json()["error"]["message"]


def test_users_crud_and_case_insensitive_email(api, admin):
    created = ok(api.post("/api/v1/users", headers=admin.headers,
                          json={"email": "Matti.Meikalainen@Firm.FI", "name": "Matti"}), 201)
    assert created["email"] == "matti.meikalainen@firm.fi"
    clash = api.post("/api/v1/users", headers=admin.headers,
                     json={"email": "matti.meikalainen@firm.fi", "name": "Other"})
    assert clash.status_code == 409
    bad = api.post("/api/v1/users", headers=admin.headers, json={"email": "nope", "name": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "email"
    ok(api.patch(f"/api/v1/users/{created['id']}", headers=admin.headers,
                 json={"name": "Matti M."}))
    ok(api.delete(f"/api/v1/users/{created['id']}", headers=admin.headers), 204)
    assert ok(api.get(f"/api/v1/users/{created['id']}", headers=admin.headers))[
        "is_active"] is False
    # The last admin cannot remove themselves.
    last = api.patch(f"/api/v1/users/{admin.id}", headers=admin.headers, json={"is_admin": False})
    assert last.status_code == 409 and "last active admin" in last.json()["error"]["message"]


def test_client_crud_numbers_groups_and_validation(api, admin):
    group = ok(api.post("/api/v1/client-groups", headers=admin.headers,
                        json={"name": "Yritykset", "starting_customer_number": 1000}), 201)
    special = ok(api.post("/api/v1/special-groups", headers=admin.headers,
                          json={"name": "Rakennusala", "description": "käänteinen ALV"}), 201)
    body = {
        "name": "Rakennus Mäkinen Oy", "business_id": "1572860-0", "group_id": group["id"],
        "special_group_ids": [special["id"]], "domains": ["RakennusMakinen.fi"],
        "contacts": [{"name": "Jari Mäkinen", "emails": ["Jari@RakennusMakinen.fi",
                                                         "jari.makinen@gmail.com"],
                      "phone": "+358 40 123 4567", "role": "toimitusjohtaja"}],
    }
    first = ok(api.post("/api/v1/clients", headers=admin.headers, json=body), 201)
    assert first["customer_number"] == 1000
    assert first["domains"] == ["rakennusmakinen.fi"]
    assert first["contacts"][0]["emails"] == ["jari@rakennusmakinen.fi",
                                             "jari.makinen@gmail.com"]
    second = ok(api.post("/api/v1/clients", headers=admin.headers,
                         json={"name": "Kahvila Aalto", "group_id": group["id"]}), 201)
    assert second["customer_number"] == 1001
    loose = ok(api.post("/api/v1/clients", headers=admin.headers, json={"name": "Irrallinen"}),
               201)
    assert loose["customer_number"] != 1000

    bad_id = api.post("/api/v1/clients", headers=admin.headers,
                      json={"name": "X", "business_id": "1572860-1"})
    assert bad_id.status_code == 422
    assert bad_id.json()["error"]["field"] == "business_id"
    assert "check digit" in bad_id.json()["error"]["message"]
    free = api.post("/api/v1/clients", headers=admin.headers,
                    json={"name": "X", "domains": ["gmail.com"]})
    assert free.status_code == 422 and "free-mail" in free.json()["error"]["message"]
    dup = api.post("/api/v1/clients", headers=admin.headers,
                   json={"name": "Y", "business_id": "1572860-0"})
    assert dup.status_code == 409
    missing_name = api.post("/api/v1/clients", headers=admin.headers, json={"status": "active"})
    assert missing_name.status_code == 422 and missing_name.json()["error"]["field"] == "name"

    patched = ok(api.patch(f"/api/v1/clients/{first['id']}", headers=admin.headers,
                           json={"status": "archived", "domains": ["makinen.fi"]}))
    assert patched["status"] == "archived" and patched["domains"] == ["makinen.fi"]
    # Deleting the group returns its clients to no group.
    ok(api.delete(f"/api/v1/client-groups/{group['id']}", headers=admin.headers), 204)
    register = ok(api.get("/api/v1/clients", headers=admin.headers,
                          params={"scope": "register"}))
    assert {c["group_id"] for c in register["items"]} == {None}
    ok(api.delete(f"/api/v1/clients/{second['id']}", headers=admin.headers), 204)


def test_admin_is_not_a_reader_by_default(api, admin):
    client = ok(api.post("/api/v1/clients", headers=admin.headers, json={"name": "Salainen Oy"}),
                201)
    assert ok(api.get("/api/v1/clients", headers=admin.headers))["items"] == []
    assert api.get(f"/api/v1/clients/{client['id']}", headers=admin.headers).status_code == 404
    assert api.get(f"/api/v1/clients/{client['id']}/timeline",
                   headers=admin.headers).status_code == 404
    rule = ok(api.post("/api/v1/access-rules", headers=admin.headers,
                       json={"subject": "admin", "level": "metadata"}), 201)
    seen = ok(api.get(f"/api/v1/clients/{client['id']}", headers=admin.headers))
    assert seen["access_level"] == "metadata" and seen["access_via"] == f"rule:{rule['id']}"
    ok(api.delete(f"/api/v1/access-rules/{rule['id']}", headers=admin.headers), 204)
    assert api.get(f"/api/v1/clients/{client['id']}", headers=admin.headers).status_code == 404


def test_responsibility_matrix_and_roles(api, admin, make_caller):
    worker = make_caller(name="Mikko")
    client = ok(api.post("/api/v1/clients", headers=admin.headers, json={"name": "A Oy"}), 201)
    unknown = api.post("/api/v1/responsibilities", headers=admin.headers,
                       json={"user_id": worker.id, "client_id": client["id"], "role": "pomo"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "role"
    row = ok(api.post("/api/v1/responsibilities", headers=admin.headers, json={
        "user_id": worker.id, "client_id": client["id"], "role": "kirjanpitaja",
        "valid_from": "2020-01-01"}), 201)
    # A date means midnight in the firm's zone (Helsinki: UTC+2 in winter).
    assert row["valid_from"] == "2020-01-01T00:00:00+02:00"
    assert row["user_name"] == "Mikko" and row["client_name"] == "A Oy"
    listed = ok(api.get("/api/v1/responsibilities", headers=admin.headers,
                        params={"user_id": worker.id, "role": "kirjanpitaja"}))
    assert [r["id"] for r in listed["items"]] == [row["id"]]
    assert ok(api.get(f"/api/v1/clients/{client['id']}", headers=worker.headers))["name"] == "A Oy"
    backwards = api.patch(f"/api/v1/responsibilities/{row['id']}", headers=admin.headers,
                          json={"valid_until": "2019-01-01"})
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "valid_until"
    ok(api.delete(f"/api/v1/responsibilities/{row['id']}", headers=admin.headers), 204)
    assert api.get(f"/api/v1/clients/{client['id']}", headers=worker.headers).status_code == 404

    role = ok(api.post("/api/v1/roles", headers=admin.headers, json={
        "key": "tilintarkastaja", "name_fi": "Tilintarkastaja", "name_en": "Auditor",
        "level": "metadata"}), 201)
    assert role["key"] == "tilintarkastaja"
    rules = ok(api.get("/api/v1/access-rules", headers=admin.headers))["items"]
    assert {"subject": "role", "role": "tilintarkastaja", "level": "metadata"}.items() <= next(
        r for r in rules if r["role"] == "tilintarkastaja").items()


def test_cover_lifecycle_through_the_api(api, admin, make_caller):
    absent, covering = make_caller(name="Mikko"), make_caller(name="Liisa")
    client = ok(api.post("/api/v1/clients", headers=admin.headers, json={"name": "B Oy"}), 201)
    ok(api.post("/api/v1/responsibilities", headers=admin.headers, json={
        "user_id": absent.id, "client_id": client["id"], "role": "asiakasvastaava"}), 201)
    now = datetime.now(UTC)
    later = ok(api.post("/api/v1/covers", headers=admin.headers, json={
        "absent_user_id": absent.id, "covering_user_id": covering.id,
        "valid_from": (now + timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=3)).isoformat()}), 201)
    assert later["state"] == "scheduled"
    assert ok(api.get("/api/v1/clients", headers=covering.headers))["items"] == []
    cover = ok(api.post("/api/v1/covers", headers=admin.headers, json={
        "absent_user_id": absent.id, "covering_user_id": covering.id,
        "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat()}), 201)
    assert cover["state"] == "running"
    mine = ok(api.get("/api/v1/clients", headers=covering.headers, params={"covering": "true"}))
    assert [c["id"] for c in mine["items"]] == [client["id"]]
    assert ok(api.get("/api/v1/clients", headers=covering.headers,
                      params={"mine": "true"}))["items"] == []
    me = ok(api.get("/api/v1/me", headers=covering.headers))
    assert {c["id"] for c in me["covers"]} == {later["id"], cover["id"]}
    # Ended early: access stops on the next request.
    ended = ok(api.patch(f"/api/v1/covers/{cover['id']}", headers=admin.headers,
                         json={"valid_until": datetime.now(UTC).isoformat()}))
    assert ended["state"] == "ended"
    assert api.get(f"/api/v1/clients/{client['id']}", headers=covering.headers).status_code == 404
    self_cover = api.post("/api/v1/covers", headers=admin.headers, json={
        "absent_user_id": absent.id, "covering_user_id": absent.id,
        "valid_from": "2026-01-01", "valid_until": "2026-01-02"})
    assert self_cover.status_code == 422
    ok(api.delete(f"/api/v1/covers/{later['id']}", headers=admin.headers), 204)
    actions = [a["action"] for a in ok(api.get("/api/v1/audit", headers=admin.headers))["items"]]
    assert {"cover.create", "cover.update", "cover.delete", "responsibility.create"} <= set(actions)


def test_tokens_revoke_and_deactivation(api, admin, make_caller):
    user = make_caller()
    new = ok(api.post("/api/v1/me/tokens", headers=user.headers, json={"name": "laptop"}), 201)
    extra = {"Authorization": f"Bearer {new['token']}"}
    assert ok(api.get("/api/v1/me", headers=extra))["id"] == user.id
    tokens = ok(api.get("/api/v1/me/tokens", headers=user.headers))["items"]
    assert all("token" not in t for t in tokens) and len(tokens) == 2
    ok(api.delete(f"/api/v1/me/tokens/{new['id']}", headers=user.headers), 204)
    assert api.get("/api/v1/me", headers=extra).status_code == 401
    ok(api.delete(f"/api/v1/users/{user.id}", headers=admin.headers), 204)
    gone = api.get("/api/v1/me", headers=user.headers)
    assert gone.status_code == 401 and "deactivated" in gone.json()["error"]["message"]
    assert api.get("/api/v1/me", headers={"Authorization": "Bearer ch_forged"}).status_code == 401


def test_my_tokens_are_on_the_audit_trail_as_mine_without_the_token(api, session,
                                                                     make_caller):
    import json

    from sqlalchemy import select

    from hub.access.models import AuditEntry

    user, colleague = make_caller(), make_caller()
    new = ok(api.post("/api/v1/me/tokens", headers=user.headers, json={"name": "laptop"}), 201)
    path = f"/api/v1/me/tokens/{new['id']}"
    assert api.delete(path, headers=colleague.headers).status_code == 404
    ok(api.delete(path, headers=user.headers), 204)
    ok(api.delete(path, headers=user.headers), 204)  # already revoked: nothing new to record
    session.expire_all()
    rows = session.execute(select(AuditEntry.action, AuditEntry.actor_user_id, AuditEntry.detail)
                           .where(AuditEntry.action.like("token.%"),
                                  AuditEntry.actor_user_id.is_not(None))
                           .order_by(AuditEntry.id)).all()
    detail = {"token_id": new["id"], "user_id": user.id, "name": "laptop"}
    assert rows == [("token.create", user.id, detail), ("token.revoke", user.id, detail)]
    kept = json.dumps([d for d in session.scalars(select(AuditEntry.detail))])
    assert new["token"] not in kept and new["prefix"] not in kept


def test_responsible_persons_export_to_excel(api, admin, make_caller):
    from io import BytesIO

    from openpyxl import load_workbook

    worker = make_caller(name="Liisa Nieminen")
    group = ok(api.post("/api/v1/client-groups", headers=admin.headers,
                        json={"name": "Yhdistykset"}), 201)
    client = ok(api.post("/api/v1/clients", headers=admin.headers,
                         json={"name": "Shakkikerho ry", "group_id": group["id"]}), 201)
    ok(api.post("/api/v1/responsibilities", headers=admin.headers, json={
        "user_id": worker.id, "client_id": client["id"], "role": "kirjanpitaja",
        "valid_from": "2026-01-01", "valid_until": "2027-01-01"}), 201)
    response = api.get("/api/v1/responsibilities/export.xlsx", headers=admin.headers)
    assert response.status_code == 200
    assert "vastuuhenkilot.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Asiakas", "Asiakasryhmä", "Henkilö")
    assert rows[1][:5] == ("Shakkikerho ry", "Yhdistykset", "Liisa Nieminen",
                           rows[1][3], "kirjanpitaja")
    assert rows[1][5].isoformat() == "2026-01-01T00:00:00"
