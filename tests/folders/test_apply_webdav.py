"""Plan, approve, apply and undo on a WebDAV drive served by wsgidav, and a server that
fails mid-apply: a real lock (423), and a full disk (507) and a server error (500) injected
at the HTTP transport, the one seam between the hub and the network. A failed step leaves
the drive as it was, says what to do, and runs again on the next apply."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from connectors.webdav.connector import WebDavConnector
from connectors.webdav.writer import WebDavWriter
from hub.accounts.models import Account
from hub.accounts.service import set_secret
from hub.errors import Conflict, SourceFailed
from hub.folders import service
from hub.folders.models import FolderAction
from tests.conftest import peer_missing
from tests.folders.conftest import ME_ROOT, MIDYEAR, OTHER_ROOT, THIRD_ROOT, make_tree, tree_of
from tests.folders.test_apply_local import FIXED
from tests.folders.test_drift import MESSY
from tests.peers.postgres import PeerMissing
from tests.peers.webdav import WebDavPeer, wsgidav_server
from workers.folders import writer_for


@pytest.fixture(scope="module")
def webdav_peer() -> Iterator[WebDavPeer]:
    try:
        with wsgidav_server() as peer:
            yield peer
    except PeerMissing as exc:
        peer_missing(str(exc))


@pytest.fixture
def drive(webdav_peer: WebDavPeer) -> Path:
    """This test's own folder on the server, the account's root, with the messy tree."""
    path = webdav_peer.root / f"Asiakkaat {uuid.uuid4().hex[:8]}"
    make_tree(path, [f"{ME_ROOT}/{e}" for e in MESSY])
    make_tree(path, [f"{OTHER_ROOT}/Asiakkaan aineisto/", f"{THIRD_ROOT}/"])
    return path


@pytest.fixture
def account(session, firm, drive, webdav_peer, sync) -> Account:
    row = Account(owner_user_id=firm.admin.user_id, kind="webdav", name="Nextcloud",
                  settings={"url": webdav_peer.url, "username": webdav_peer.username,
                            "root": drive.name})
    session.add(row)
    session.flush()
    set_secret(row, webdav_peer.password)
    session.commit()
    sync(row.id)
    return row


class FaultyTransport(httpx.BaseTransport):
    """Passes requests on to the real server, except that the first request of a method
    whose decoded path contains a given text is answered with a given status instead -
    before it reaches the server, as a proxy that failed would."""

    def __init__(self, faults: dict[tuple[str, str], int]) -> None:
        self.real = httpx.HTTPTransport()
        self.faults = dict(faults)
        self.fired: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        for (method, part), status in list(self.faults.items()):
            if request.method == method and part in path:
                del self.faults[(method, part)]
                self.fired.append((method, path, status))
                return httpx.Response(status, text="<error/>", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def _plan_and_approve_all(session, firm, account_id: int) -> list[int]:
    report = service.plan(session, firm.admin, MIDYEAR, account_id=account_id)
    for action in report.actions:
        service.approve(session, firm.admin, action.id)
    session.commit()
    return [a.id for a in report.actions]


def _effect(tree: set[str], action: FolderAction) -> set[str]:
    """``tree`` (relative to the account root) after one applied action."""
    if action.kind == "create":
        return tree | {f"{action.path}/"}
    assert action.target is not None
    old = action.path + ("/" if action.is_folder else "")
    new = action.target + ("/" if action.is_folder else "")
    return {new + p[len(old):] if p.startswith(old) else p for p in tree}


def test_approved_fixes_on_a_webdav_drive(session, session_factory, firm, drive, account):
    ids = _plan_and_approve_all(session, firm, account.id)
    report = service.apply(session_factory, writer_for, firm.admin)
    assert len(report.applied) == len(ids) and report.failed == []
    assert tree_of(drive) == FIXED
    rename = session.scalar(select(FolderAction).where(
        FolderAction.path == f"{ME_ROOT}/valtakirjat"))
    service.undo(session_factory, writer_for, firm.admin, rename.id)
    assert (drive / ME_ROOT / "valtakirjat").is_dir()
    assert not (drive / ME_ROOT / "Valtakirjat").exists()
    created = session.scalar(select(FolderAction).where(
        FolderAction.path == f"{THIRD_ROOT}/Verottaja"))
    service.undo(session_factory, writer_for, firm.admin, created.id)
    assert not (drive / THIRD_ROOT / "Verottaja").exists()
    full = session.scalar(select(FolderAction).where(
        FolderAction.path == f"{OTHER_ROOT}/Kirjanpito"))
    with pytest.raises(Conflict, match="holds files or folders now, so it stays"):
        service.undo(session_factory, writer_for, firm.admin, full.id)
    assert (drive / OTHER_ROOT / "Kirjanpito/2026").is_dir()


def test_a_server_failing_mid_apply_leaves_each_failed_step_undone(
        session, session_factory, firm, drive, account, webdav_peer):
    ids = _plan_and_approve_all(session, firm, account.id)
    before = tree_of(drive)
    transport = FaultyTransport({("MOVE", "/lasku.pdf"): 423,
                                 ("MKCOL", f"/{OTHER_ROOT}/Verottaja"): 507,
                                 ("MKCOL", f"/{THIRD_ROOT}/Tilinpäätös/2026"): 500})

    def faulty(_: Account) -> WebDavWriter:
        return WebDavWriter(WebDavConnector(
            webdav_peer.url, webdav_peer.username, webdav_peer.password, root=drive.name,
            client=httpx.Client(transport=transport)))

    report = service.apply(session_factory, faulty, firm.admin)
    transport.close()
    assert len(transport.fired) == 3
    session.expire_all()
    actions = {a.id: a for a in session.scalars(select(FolderAction))}
    failed = {actions[i].path: actions[i] for i in report.failed}
    assert set(failed) == {f"{ME_ROOT}/lasku.pdf", f"{OTHER_ROOT}/Verottaja",
                           f"{THIRD_ROOT}/Tilinpäätös/2026"}
    advice = {path: a.error for path, a in failed.items()}
    assert "is locked on the server (HTTP 423)" in advice[f"{ME_ROOT}/lasku.pdf"]
    assert "it is tried again later" in advice[f"{ME_ROOT}/lasku.pdf"]
    assert "no space left" in advice[f"{OTHER_ROOT}/Verottaja"]
    assert "free space or raise the quota" in advice[f"{OTHER_ROOT}/Verottaja"]
    assert "server failed (HTTP 500)" in advice[f"{THIRD_ROOT}/Tilinpäätös/2026"]
    assert "tell the server's admin" in advice[f"{THIRD_ROOT}/Tilinpäätös/2026"]
    assert all(a.status == "failed" and a.retryable for a in failed.values())
    # The drive holds exactly what the applied steps did; the failed ones left no trace.
    expected = before
    for action_id in report.applied:
        expected = _effect(expected, actions[action_id])
    assert tree_of(drive) == expected
    assert (drive / ME_ROOT / "lasku.pdf").is_file()
    assert not (drive / OTHER_ROOT / "Verottaja").exists()
    # Steps after a failure in the same client folder waited; the failures are retried.
    assert report.skipped
    assert {actions[i].client_id for i in report.skipped} <= {
        a.client_id for a in failed.values()}
    assert set(report.applied) | set(report.failed) | set(report.skipped) == set(ids)
    second = service.apply(session_factory, writer_for, firm.admin)
    assert second.failed == [] and set(second.applied) == set(report.failed + report.skipped)
    assert tree_of(drive) == FIXED


def _lock(peer: WebDavPeer, url: str) -> str:
    body = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
            "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
            "<D:owner>Maija editing</D:owner></D:lockinfo>")
    response = httpx.request("LOCK", url, content=body, auth=(peer.username, peer.password),
                             headers={"Depth": "0", "Timeout": "Second-300",
                                      "Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    return response.headers["Lock-Token"]


def test_a_file_locked_by_a_colleague_is_left_and_retried(session, session_factory, firm,
                                                          drive, account, webdav_peer):
    report = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    move = next(a for a in report.actions if a.path.endswith("/lasku.pdf"))
    service.approve(session, firm.admin, move.id)
    session.commit()
    url = httpx.URL(webdav_peer.url).join(f"{drive.name}/{ME_ROOT}/lasku.pdf")
    token = _lock(webdav_peer, str(url))
    result = service.apply(session_factory, writer_for, firm.admin)
    assert result.failed == [move.id]
    session.expire_all()
    failed = session.get(FolderAction, move.id)
    assert "locked on the server (HTTP 423)" in failed.error and failed.retryable
    assert (drive / ME_ROOT / "lasku.pdf").is_file()
    assert not (drive / ME_ROOT / "Asiakkaan aineisto/lasku.pdf").exists()
    unlocked = httpx.request("UNLOCK", str(url), headers={"Lock-Token": token},
                             auth=(webdav_peer.username, webdav_peer.password))
    assert unlocked.status_code == 204
    assert service.apply(session_factory, writer_for, firm.admin).applied == [move.id]
    assert (drive / ME_ROOT / "Asiakkaan aineisto/lasku.pdf").is_file()


def test_an_undo_the_server_refuses_leaves_the_action_applied(
        session, session_factory, firm, drive, account, webdav_peer):
    report = service.plan(session, firm.admin, MIDYEAR, client_id=firm.me.id)
    rename = next(a for a in report.actions if a.path.endswith("/valtakirjat"))
    service.approve(session, firm.admin, rename.id)
    session.commit()
    service.apply(session_factory, writer_for, firm.admin)
    transport = FaultyTransport({("MOVE", "/Valtakirjat"): 507})

    def faulty(_: Account) -> WebDavWriter:
        return WebDavWriter(WebDavConnector(
            webdav_peer.url, webdav_peer.username, webdav_peer.password, root=drive.name,
            client=httpx.Client(transport=transport)))

    with pytest.raises(SourceFailed, match="free space or raise the quota"):
        service.undo(session_factory, faulty, firm.admin, rename.id)
    transport.close()
    session.expire_all()
    assert session.get(FolderAction, rename.id).status == "applied"
    assert (drive / ME_ROOT / "Valtakirjat").is_dir()
