"""Client roots: automatic matching, the review list of unmapped folders, and admins'
mappings that survive every re-sync and recalculation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hub.drive.models import ClientRoot
from hub.drive.roots import clients_path, recalculate
from hub.staff.models import User
from tests.api.conftest import ok
from tests.drive.conftest import OLD, add_account, client, entries, titles, write
from workers.sync import sync_account

ESIMERKKI = "1001 Oy Esimerkki Ab"


@pytest.fixture
def drive(session, session_factory, owner, tmp_path):
    root = tmp_path / "drive"
    write(root, f"{ESIMERKKI}/Kirjanpito/tosite.pdf", when=OLD)
    write(root, "Tuntematon Ky/Sopimukset/sopimus.pdf", when=OLD)
    write(root, "Tuntematon Ky/Sopimukset/liite.pdf", when=OLD)
    write(root, "Yleiset/ohje.txt", when=OLD)
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    account = add_account(session, owner, "local", {"path": str(root)})

    def sync() -> None:
        runs = sync_account(session_factory, account.id)
        assert [r.status for r in runs] == ["ok"]

    return account, root, esimerkki, sync


def _client_of(session, account_id: int, path: str) -> int | None:
    from hub.drive import index

    session.expire_all()
    found = {e.path: e.client_id for e in index.entries(session, account_id)}
    return found[path]  # a path never indexed fails here, not as "no client"


def test_unmapped_folders_are_listed_and_a_manual_mapping_survives_resync(
        api, session, drive, admin, owner, make_caller):
    account, root, _, sync = drive
    sync()
    listed = ok(api.get("/api/v1/drive/unmapped", headers=admin.headers))
    assert [(i["path"], i["cleared"]) for i in listed["items"]] == [
        ("Tuntematon Ky/", False), ("Yleiset/", False)]
    assert listed["items"][0]["account_id"] == account.id
    stranger = make_caller()
    assert ok(api.get("/api/v1/drive/unmapped", headers=stranger.headers))["items"] == []
    page = ok(api.get("/api/v1/drive/unmapped", headers=admin.headers, params={"limit": 1}))
    rest = ok(api.get("/api/v1/drive/unmapped", headers=admin.headers,
                      params={"after": page["next"]}))
    assert [i["path"] for i in page["items"] + rest["items"]] == ["Tuntematon Ky/",
                                                                   "Yleiset/"]

    tuntematon = client(session, 4004, "Ihan Eri Nimi Oy")
    session.commit()
    mapped = ok(api.put(f"/api/v1/clients/{tuntematon.id}/drive-root", headers=admin.headers,
                        json={"account_id": account.id, "path": "Tuntematon Ky"}))
    assert mapped == {"client_id": tuntematon.id, "account_id": account.id,
                      "path": "Tuntematon Ky/", "origin": "manual", "items": 4}
    assert _client_of(session, account.id, "Tuntematon Ky/Sopimukset/liite.pdf") == tuntematon.id
    assert titles(entries(session, tuntematon.id)) == ["Drive folder indexed: 2 files"]
    assert [i["path"] for i in ok(api.get("/api/v1/drive/unmapped",
                                          headers=admin.headers))["items"]] == ["Yleiset/"]

    # A client later named like the folder does not take it over: the admin decided.
    client(session, 5005, "Tuntematon Ky")
    session.commit()
    write(root, "Tuntematon Ky/Sopimukset/uusi.pdf")
    sync()
    assert _client_of(session, account.id, "Tuntematon Ky/Sopimukset/uusi.pdf") == tuntematon.id
    row = session.scalar(select(ClientRoot).where(ClientRoot.path == "Tuntematon Ky/"))
    assert (row.client_id, row.origin, row.decided_by) == (tuntematon.id, "manual", admin.id)
    assert "1 file added to Sopimukset" in titles(entries(session, tuntematon.id))

    # Non-admins may not map; a folder not in the index is refused with advice.
    refused = api.put(f"/api/v1/clients/{tuntematon.id}/drive-root", headers=stranger.headers,
                      json={"account_id": account.id, "path": "Yleiset"})
    assert refused.status_code == 403
    missing = api.put(f"/api/v1/clients/{tuntematon.id}/drive-root", headers=admin.headers,
                      json={"account_id": account.id, "path": "Ei ole"})
    assert missing.status_code == 422 and "sync the account" in missing.json()["error"]["message"]


def test_remapping_moves_the_folders_entries_and_clearing_removes_them(
        api, session, drive, admin):
    account, _, esimerkki, sync = drive
    sync()
    assert titles(entries(session, esimerkki.id)) == ["Drive folder indexed: 1 file"]
    other = client(session, 6006, "Toinen Oy")
    session.commit()
    ok(api.put(f"/api/v1/clients/{other.id}/drive-root", headers=admin.headers,
               json={"account_id": account.id, "path": f"{ESIMERKKI}/"}))
    assert _client_of(session, account.id, f"{ESIMERKKI}/Kirjanpito/tosite.pdf") == other.id
    assert entries(session, esimerkki.id) == []
    assert titles(entries(session, other.id)) == ["Drive folder indexed: 1 file"]

    ok(api.delete(f"/api/v1/clients/{other.id}/drive-root", headers=admin.headers,
                  params={"account_id": account.id}), 204)
    assert _client_of(session, account.id, f"{ESIMERKKI}/Kirjanpito/tosite.pdf") is None
    assert entries(session, other.id) == []
    sync()  # recalculation leaves a cleared folder alone, though its name matches
    assert _client_of(session, account.id, f"{ESIMERKKI}/Kirjanpito/tosite.pdf") is None
    listed = ok(api.get("/api/v1/drive/unmapped", headers=admin.headers))["items"]
    assert (f"{ESIMERKKI}/", True) in [(i["path"], i["cleared"]) for i in listed]
    gone = api.delete(f"/api/v1/clients/{other.id}/drive-root", headers=admin.headers,
                      params={"account_id": account.id})
    assert gone.status_code == 404


def test_a_client_added_later_gets_its_folder_on_recalculation(session, drive):
    account, root, _, sync = drive
    sync()
    assert _client_of(session, account.id, "Yleiset/ohje.txt") is None
    yleiset = client(session, 7007, "Yleiset")
    session.commit()
    # "Yleiset" is no "{customer_number} {client_name}" name; a business ID in it would do.
    assert recalculate(session, account) == 0
    yleiset.business_id = "1572860-0"
    session.commit()
    (root / "Yleiset").rename(root / "Yleiset 1572860-0")
    sync()
    assert _client_of(session, account.id, "Yleiset 1572860-0/ohje.txt") == yleiset.id
    # The file was no client's before: for this client it is new.
    assert titles(entries(session, yleiset.id)) == ["1 file added to the client folder"]


def test_clients_path_sets_the_level_of_client_folders(session, session_factory, owner,
                                                      tmp_path: Path):
    root = tmp_path / "share"
    write(root, f"Asiakkaat/{ESIMERKKI}/tosite.pdf", when=OLD)
    write(root, f"{ESIMERKKI}/väärä taso.pdf", when=OLD)
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    account = add_account(session, owner, "local", {"path": str(root),
                                                    "clients_path": "/Asiakkaat/"})
    assert clients_path(account.settings) == "Asiakkaat/"
    sync_account(session_factory, account.id)
    assert _client_of(session, account.id, f"Asiakkaat/{ESIMERKKI}/tosite.pdf") == esimerkki.id
    assert _client_of(session, account.id, f"{ESIMERKKI}/väärä taso.pdf") is None
    # The clients folder moves: the old automatic root lapses, the new level is matched.
    session.refresh(account)
    account.settings = {"path": str(root), "clients_path": ""}
    session.commit()
    assert recalculate(session, account) == 2
    session.commit()
    assert _client_of(session, account.id, f"Asiakkaat/{ESIMERKKI}/tosite.pdf") is None
    assert _client_of(session, account.id, f"{ESIMERKKI}/väärä taso.pdf") == esimerkki.id
    assert session.get(User, owner.id) is not None


def test_a_folder_waiting_for_its_client_is_filed_when_the_client_comes(session, drive):
    account, root, _, sync = drive
    write(root, "8008 Uusi Asiakas Oy/Kirjanpito/vanha.pdf", when=OLD)
    write(root, "9009 Toinen Uusi Oy/muistio.txt", when=OLD)
    sync()
    assert _client_of(session, account.id, "8008 Uusi Asiakas Oy/Kirjanpito/vanha.pdf") is None
    uusi = client(session, 8008, "Uusi Asiakas Oy")
    toinen = client(session, 9009, "Toinen Uusi Oy")
    session.commit()
    # Found by the sink as a new file arrives, and by recalculation with nothing new.
    write(root, "8008 Uusi Asiakas Oy/Kirjanpito/uusi.pdf")
    sync()
    assert _client_of(session, account.id, "8008 Uusi Asiakas Oy/Kirjanpito/vanha.pdf") == uusi.id
    assert titles(entries(session, uusi.id)) == ["1 file added to Kirjanpito",
                                                 "Drive folder indexed: 1 file"]
    assert _client_of(session, account.id, "9009 Toinen Uusi Oy/muistio.txt") == toinen.id
    assert titles(entries(session, toinen.id)) == ["Drive folder indexed: 1 file"]


def test_a_subfolder_mapped_to_another_client_takes_its_files_and_entries(
        api, session, drive, admin):
    account, root, esimerkki, sync = drive
    sync()
    write(root, f"{ESIMERKKI}/Kirjanpito/uusi.pdf")
    sync()
    assert "1 file added to Kirjanpito" in titles(entries(session, esimerkki.id))
    tytar = client(session, 1002, "Tytäryhtiö Oy")
    session.commit()
    ok(api.put(f"/api/v1/clients/{tytar.id}/drive-root", headers=admin.headers,
               json={"account_id": account.id, "path": f"{ESIMERKKI}/Kirjanpito/"}))
    assert _client_of(session, account.id, f"{ESIMERKKI}/Kirjanpito/uusi.pdf") == tytar.id
    assert _client_of(session, account.id, f"{ESIMERKKI}/") == esimerkki.id
    assert titles(entries(session, tytar.id)) == ["1 file added to the client folder",
                                                  "Drive folder indexed: 2 files"]
    assert titles(entries(session, esimerkki.id)) == ["Drive folder indexed: 1 file"]
    write(root, f"{ESIMERKKI}/Kirjanpito/toinen.pdf")
    sync()
    assert _client_of(session, account.id, f"{ESIMERKKI}/Kirjanpito/toinen.pdf") == tytar.id
