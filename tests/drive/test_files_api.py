"""Browsing a client's drive folder over the API, and drive activity in the timeline at
each reader's level: names and folders from ``subject`` up, counts only at ``metadata``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.local import LocalFolderConnector
from hub.access.models import AuditEntry
from hub.access.policy import Level
from hub.timeline.service import project
from tests.api.conftest import ok
from tests.drive.conftest import (
    OLD,
    Clock,
    Drive,
    add_account,
    client,
    entries,
    reader,
    write,
)

ESIMERKKI = "1001 Oy Esimerkki Ab"


@pytest.fixture
def drive(session, session_factory, owner, tmp_path):
    from datetime import UTC, datetime

    root = tmp_path / "drive"
    for rel in ("Kirjanpito/2026/b.pdf", "Kirjanpito/2026/a.pdf", "Kirjanpito/2025/c.pdf",
                "Sopimukset/toimeksianto.pdf", "muistio.txt", "alv.xlsx"):
        write(root, f"{ESIMERKKI}/{rel}", when=OLD)
    (root / ESIMERKKI / "Verottaja").mkdir()
    esimerkki = client(session, 1001, "Oy Esimerkki Ab")
    session.commit()
    account = add_account(session, owner, "local", {"path": str(root)})
    found = Drive(session_factory, account.id, owner, lambda: LocalFolderConnector(root),
                  Clock(datetime.now(UTC)))
    found.sync()
    return found, root, esimerkki


def _files(api, caller, client_id, **params):
    return api.get(f"/api/v1/clients/{client_id}/files", headers=caller.headers, params=params)


def test_browse_folders_first_by_name_with_stable_pages(api, session, drive, make_caller):
    _, _, esimerkki = drive
    colleague = reader(session, make_caller, esimerkki, "full")
    names, after = [], None
    while True:
        page = ok(_files(api, colleague, esimerkki.id, limit=2,
                         **({"after": after} if after else {})))
        assert page["root"] == f"{ESIMERKKI}/" and page["level"] == "full"
        names += [(i["name"], i["is_folder"]) for i in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert names == [("Kirjanpito", True), ("Sopimukset", True), ("Verottaja", True),
                     ("alv.xlsx", False), ("muistio.txt", False)]
    inner = ok(_files(api, colleague, esimerkki.id, path="/Kirjanpito/2026/"))
    assert [(i["name"], i["path"], i["size"]) for i in inner["items"]] == [
        ("a.pdf", "Kirjanpito/2026/a.pdf", 1), ("b.pdf", "Kirjanpito/2026/b.pdf", 1)]
    assert inner["items"][0]["content_type"] == "application/pdf"
    assert inner["path"] == "Kirjanpito/2026/"
    assert _files(api, colleague, esimerkki.id, path="Ei ole").status_code == 404
    sneaky = _files(api, colleague, esimerkki.id, path="Kirjanpito/../..")
    assert sneaky.status_code == 422 and sneaky.json()["error"]["field"] == "path"

    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "files.read")
                            .order_by(AuditEntry.id)).all()
    assert len(audit) == 4  # three pages of the root and the year folder
    assert {a.client_id for a in audit} == {esimerkki.id}
    assert audit[-1].actor_user_id == colleague.id and audit[-1].grant == "own:myyja"
    assert audit[-1].detail["path"] == "Kirjanpito/2026/" and audit[-1].detail["items"] == 2


def test_a_metadata_reader_is_told_which_level_browsing_needs(api, session, drive,
                                                             make_caller):
    _, _, esimerkki = drive
    glance = reader(session, make_caller, esimerkki, "metadata")
    refused = _files(api, glance, esimerkki.id)
    assert refused.status_code == 403
    message = refused.json()["error"]["message"]
    assert "'metadata'" in message and "'subject'" in message
    stranger = make_caller()
    assert _files(api, stranger, esimerkki.id).status_code == 404  # as if absent
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "files.read")
                           ).all() == []


def test_the_account_share_level_caps_colleagues_but_not_the_owner(api, session, drive,
                                                                  make_caller):
    from hub.accounts.models import Account
    from hub.staff.service import create_token
    from tests import factories as f

    found, _, esimerkki = drive
    account = session.get(Account, found.account_id)
    account.share_level = "metadata"
    colleague = reader(session, make_caller, esimerkki, "full")
    assert _files(api, colleague, esimerkki.id).status_code == 403
    f.responsibility(session, found.owner, esimerkki, role="myyja")
    token = create_token(session, None, found.owner)[1]
    session.commit()
    mine = ok(api.get(f"/api/v1/clients/{esimerkki.id}/files",
                      headers={"Authorization": f"Bearer {token}"}))
    assert mine["level"] == "full" and len(mine["items"]) == 5


def test_drive_activity_at_each_level(api, session, drive, make_caller):
    found, root, esimerkki = drive
    found.clock.advance(minutes=15)
    for n in range(7):
        write(root, f"{ESIMERKKI}/Kirjanpito/2026/tosite-{n}.pdf")
    found.sync()
    entry = next(e for e in entries(session, esimerkki.id) if e.extra["action"] == "added")

    metadata = project(entry, Level.METADATA)
    assert metadata.files is not None
    assert metadata.files.model_dump() == {"action": "added", "count": 7, "folder": None,
                                           "names": None}
    assert metadata.title is None and metadata.summary is None and metadata.extra is None
    shown = metadata.model_dump_json()
    assert "Kirjanpito" not in shown and "tosite" not in shown

    subject = project(entry, Level.SUBJECT)
    assert subject.title == "7 files added to Kirjanpito/2026"
    assert subject.files is not None and subject.files.folder == "Kirjanpito/2026"
    assert subject.files.names == [f"tosite-{n}.pdf" for n in range(5)]
    assert subject.summary is None and subject.extra is None

    full = project(entry, Level.FULL)
    assert full.summary == ", ".join(f"tosite-{n}.pdf" for n in range(5)) + " and 2 more"

    # Through the API, a metadata reader's timeline shows the count and no names.
    glance = reader(session, make_caller, esimerkki, "metadata")
    page = ok(api.get(f"/api/v1/clients/{esimerkki.id}/timeline", headers=glance.headers,
                      params={"kind": "file_activity"}))
    added = next(i for i in page["items"] if i["files"]["action"] == "added")
    assert added["files"] == {"action": "added", "count": 7, "folder": None, "names": None}
    assert added["title"] is None and added["level"] == "metadata"
    assert "tosite" not in str(page) and "Kirjanpito" not in str(page)


def test_lowering_the_share_level_reaches_past_entries(api, session, drive, make_caller):
    from hub.staff.service import create_token

    found, _, esimerkki = drive
    colleague = reader(session, make_caller, esimerkki, "full")
    token = create_token(session, None, found.owner)[1]
    session.commit()
    before = ok(api.get(f"/api/v1/clients/{esimerkki.id}/timeline",
                        headers=colleague.headers))["items"]
    assert before and all(i["level"] == "full" for i in before)
    ok(api.patch(f"/api/v1/accounts/{found.account_id}", json={"share_level": "metadata"},
                 headers={"Authorization": f"Bearer {token}"}))
    after = ok(api.get(f"/api/v1/clients/{esimerkki.id}/timeline",
                       headers=colleague.headers))["items"]
    assert [i["level"] for i in after] == ["metadata"] * len(before)
    assert all(i["title"] is None and i["files"]["names"] is None for i in after)
    assert {e.share_level for e in entries(session, esimerkki.id)} == {"metadata"}
