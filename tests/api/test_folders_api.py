"""Folder endpoints: admins only; templates with a group's override; drift, plan, approve,
apply and undo on a local drive synced for real."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.deps import now
from tests.api.conftest import ok
from tests.folders.conftest import ME_ROOT, OTHER_ROOT, THIRD_ROOT, make_tree
from tests.folders.test_drift import MESSY
from workers.sync import sync_account

V1 = "/api/v1/folders"
SMALL = "{customer_number} {client_name}/\n  Kirjanpito/{year}/\n  Muut/\n"


@pytest.fixture
def midyear(api):
    # The fiscal year follows the clock; pin it so the findings are exact.
    api.app.dependency_overrides[now] = lambda: datetime(2026, 6, 15, 9, tzinfo=UTC)
    yield
    api.app.dependency_overrides.pop(now)


def test_folder_endpoints_are_admin_only(api, make_caller):
    plain = make_caller()
    for method, url in [("GET", "/templates"), ("GET", "/templates/default"),
                        ("PUT", "/templates/default"), ("DELETE", "/templates/1"),
                        ("GET", "/settings"), ("PUT", "/settings"), ("GET", "/drift"),
                        ("POST", "/plan"), ("GET", "/actions"), ("POST", "/actions/1/approve"),
                        ("POST", "/apply"), ("POST", "/actions/1/undo"), ("POST", "/trees")]:
        response = api.request(method, V1 + url, headers=plain.headers,
                               json={"text": SMALL, "client_id": 1, "account_id": 1})
        assert response.status_code == 403, (url, response.text)
        assert "only an admin" in response.json()["error"]["message"]


def test_templates_and_a_groups_override(api, admin):
    listed = ok(api.get(f"{V1}/templates", headers=admin.headers))["items"]
    assert [t["scope"] for t in listed] == ["default"]
    assert listed[0]["inbox"] == "Asiakkaan aineisto" and listed[0]["past_years"] == 1
    group = ok(api.post("/api/v1/client-groups", headers=admin.headers,
                        json={"name": "Yhdistykset"}), 201)
    gid = group["id"]
    follows = ok(api.get(f"{V1}/templates/{gid}", headers=admin.headers))
    assert follows["scope"] == "default"
    own = ok(api.put(f"{V1}/templates/{gid}", headers=admin.headers,
                     json={"text": SMALL, "next_years": 2}))
    assert (own["scope"], own["client_group_name"], own["next_years"]) == (str(gid),
                                                                           "Yhdistykset", 2)
    assert own["text"].endswith("years: 1 back, 2 ahead\n")
    assert [f["name"] for f in own["folders"]] == ["Kirjanpito", "Muut"]
    assert ok(api.get(f"{V1}/templates/{gid}", headers=admin.headers))["scope"] == str(gid)
    default = ok(api.get(f"{V1}/templates/default", headers=admin.headers))
    assert len(default["folders"]) == 7 and default["folders"][0]["name"] == "Kirjanpito"
    assert [t["scope"] for t in ok(api.get(f"{V1}/templates", headers=admin.headers))[
        "items"]] == ["default", str(gid)]
    bad = api.put(f"{V1}/templates/default", headers=admin.headers,
                  json={"text": "Kirjanpito\n"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "text"
    assert "ends its path with '/'" in bad.json()["error"]["message"]
    assert api.put(f"{V1}/templates/nope", headers=admin.headers,
                   json={"text": SMALL}).status_code == 422
    assert api.put(f"{V1}/templates/999999", headers=admin.headers,
                   json={"text": SMALL}).status_code == 404
    ok(api.delete(f"{V1}/templates/{gid}", headers=admin.headers), 204)
    assert ok(api.get(f"{V1}/templates/{gid}", headers=admin.headers))["scope"] == "default"
    assert api.delete(f"{V1}/templates/{gid}", headers=admin.headers).status_code == 404


def test_settings(api, admin):
    shown = ok(api.get(f"{V1}/settings", headers=admin.headers))
    assert (shown["auto_create"], shown["year_lead_days"]) == (False, 31)
    changed = ok(api.put(f"{V1}/settings", headers=admin.headers,
                         json={"auto_create": True}))
    assert (changed["auto_create"], changed["year_lead_days"]) == (True, 31)
    assert changed["updated_by"] == admin.id
    assert api.put(f"{V1}/settings", headers=admin.headers,
                   json={"year_lead_days": -1}).status_code == 422


def _firm(api, admin, tmp_path: Path) -> tuple[int, dict[str, int]]:
    special = ok(api.post("/api/v1/special-groups", headers=admin.headers,
                          json={"name": "payroll"}), 201)
    clients = {}
    for number, name, bid, specials in [(1001, "Oy Esimerkki Ab", "1234567-1", [special["id"]]),
                                        (1002, "Toinen Oy", None, []),
                                        (1003, "Kolmas Oy", None, [])]:
        body = {"name": name, "customer_number": number, "special_group_ids": specials}
        if bid:
            body["business_id"] = bid
        created = api.post("/api/v1/clients", headers=admin.headers, json=body)
        if created.status_code == 422:  # a made-up business ID: leave it out
            body.pop("business_id")
            created = api.post("/api/v1/clients", headers=admin.headers, json=body)
        clients[name] = ok(created, 201)["id"]
    drive = tmp_path / "drive"
    make_tree(drive, [f"{ME_ROOT}/{e}" for e in MESSY])
    make_tree(drive, [f"{OTHER_ROOT}/Asiakkaan aineisto/", f"{THIRD_ROOT}/"])
    account = ok(api.post("/api/v1/accounts", headers=admin.headers,
                          json={"kind": "local", "name": "Drive",
                                "settings": {"path": str(drive)}}), 201)
    return account["id"], clients


def test_drift_plan_approve_apply_and_undo(api, admin, session_factory, tmp_path, midyear):
    account_id, clients = _firm(api, admin, tmp_path)
    drive = tmp_path / "drive"
    sync_account(session_factory, account_id)
    me = clients["Oy Esimerkki Ab"]
    drift = ok(api.get(f"{V1}/drift", headers=admin.headers, params={"client_id": me}))
    [mine] = drift["items"]
    assert (mine["root"], mine["year"], mine["customer_number"]) == (ME_ROOT, 2026, 1001)
    kinds = {f["kind"] for f in mine["findings"]}
    assert kinds >= {"missing_folder", "unexpected_folder", "misnamed_folder", "loose_file",
                     "foreign_client_folder"}
    foreign = [f for f in mine["findings"] if f["kind"] == "foreign_client_folder"]
    assert "1002" in {f["other_client_number"] for f in foreign}
    everyone = ok(api.get(f"{V1}/drift", headers=admin.headers))["items"]
    assert len(everyone) == 3

    planned = ok(api.post(f"{V1}/plan", headers=admin.headers, json={"client_id": me}))
    assert planned["year"] == 2026 and planned["created"] == len(planned["actions"]) > 5
    assert {a["status"] for a in planned["actions"]} == {"proposed"}
    rename = next(a for a in planned["actions"] if a["path"] == f"{ME_ROOT}/valtakirjat")
    nothing = ok(api.post(f"{V1}/apply", headers=admin.headers, json={}))
    assert nothing["applied"] == 0
    refused = api.post(f"{V1}/apply", headers=admin.headers,
                       json={"action_ids": [rename["id"]]})
    assert refused.status_code == 409 and "approve it first" in refused.text
    approved = ok(api.post(f"{V1}/actions/{rename['id']}/approve", headers=admin.headers))
    assert (approved["status"], approved["approved_by"]) == ("approved", admin.id)
    applied = ok(api.post(f"{V1}/apply", headers=admin.headers, json={}))
    assert (applied["applied"], applied["failed"]) == (1, 0)
    assert applied["actions"][0]["result"] == "renamed"
    assert (drive / ME_ROOT / "Valtakirjat").is_dir()
    # The index was refreshed after the apply: the rename is not proposed again.
    again = ok(api.post(f"{V1}/plan", headers=admin.headers, json={"client_id": me}))
    assert f"{ME_ROOT}/valtakirjat" not in {a["path"] for a in again["actions"]}
    assert again["created"] == 0 and again["stale"] == 0

    undone = ok(api.post(f"{V1}/actions/{rename['id']}/undo", headers=admin.headers))
    assert (undone["status"], undone["undone_by"]) == ("undone", admin.id)
    assert (drive / ME_ROOT / "valtakirjat").is_dir()
    twice = api.post(f"{V1}/actions/{rename['id']}/undo", headers=admin.headers)
    assert twice.status_code == 409
    assert api.post(f"{V1}/actions/999999/approve", headers=admin.headers).status_code == 404


def test_actions_page_in_running_order(api, admin, session_factory, tmp_path, midyear):
    account_id, _ = _firm(api, admin, tmp_path)
    sync_account(session_factory, account_id)
    planned = ok(api.post(f"{V1}/plan", headers=admin.headers, json={}))
    seen, after = [], None
    while True:
        params = {"limit": 7, "status": "proposed", **({"after": after} if after else {})}
        page = ok(api.get(f"{V1}/actions", headers=admin.headers, params=params))
        seen += [a["id"] for a in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [a["id"] for a in planned["actions"]]
    assert api.get(f"{V1}/actions", headers=admin.headers,
                   params={"after": "garbage"}).status_code == 422
    assert api.get(f"{V1}/actions", headers=admin.headers,
                   params={"status": "nonsense"}).status_code == 422


def test_an_admin_creates_a_clients_tree(api, admin, tmp_path, midyear):
    drive = tmp_path / "drive"
    drive.mkdir()
    account = ok(api.post("/api/v1/accounts", headers=admin.headers,
                          json={"kind": "local", "name": "Drive",
                                "settings": {"path": str(drive)}}), 201)
    client = ok(api.post("/api/v1/clients", headers=admin.headers,
                         json={"name": "Uusi Oy", "customer_number": 1004}), 201)
    created = ok(api.post(f"{V1}/trees", headers=admin.headers,
                          json={"client_id": client["id"], "account_id": account["id"]}), 201)
    assert created[0]["path"] == "1004 Uusi Oy"
    assert {a["status"] for a in created} == {"applied"}
    assert (drive / "1004 Uusi Oy" / "Tilinpäätös" / "2027").is_dir()
    assert not (drive / "1004 Uusi Oy" / "Palkanlaskenta").exists()
    missing = api.post(f"{V1}/trees", headers=admin.headers,
                       json={"client_id": 999999, "account_id": account["id"]})
    assert missing.status_code == 404
