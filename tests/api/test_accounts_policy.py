"""Where an account may point, and who may point it there.

A staff member adds no account that reads the server's own files (``mail_archive``,
``local``) and changes no such account's path; an admin - or the command line - points
them only under CLIENTHUB_SERVER_ROOTS, with symlinks and ``..`` resolved first; nobody
points an ``imap`` or ``webdav`` account at a loopback, private, link-local, multicast or
reserved address unless CLIENTHUB_OUTBOUND_ALLOW lists it. Each rule holds through POST,
PATCH and the command line, and again right before a connector is built. And no account
a staff member could add makes them an owner of a colleague's mail: a copy carrying a
colleague's Message-ID is a message of its own unless it holds the same mail.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account
from hub.db import make_engine, make_session_factory
from hub.errors import InvalidInput
from hub.mail.models import MailMessage
from hub.settings import Settings, get_settings
from hub.staff.models import User
from tests import factories as f
from tests.api.conftest import ok
from tests.connectors.conftest import dovecot  # noqa: F401 - the IMAP peer
from tests.mail.conftest import client_with_contact, mail
from workers.folders import writer_for
from workers.sync import connector_for, sync_account

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "195.197.54.100"  # a public address: accounts are only added, nothing connects
CLIENT = "Jari Mäkinen <jari@rakennusmakinen.fi>"
SERVER_KINDS = ["mail_archive", "local"]
REFUSED_HOSTS = ["127.0.0.1", "::1", "[::1]", "localhost", "10.1.2.3", "172.16.0.1",
                 "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.251", "fd00::1",
                 "fe80::1", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
                 "0.0.0.0"]  # noqa: S104 - an address refused, not one bound to
REFUSED_URLS = ["http://127.0.0.1:8080/dav/", "http://[::1]/", "https://10.0.0.1/remote.php/",
                "http://169.254.169.254/latest/meta-data/", "http://localhost/",
                "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/"]


@pytest.fixture
def configure(monkeypatch):
    """Sets CLIENTHUB_* variables for one test, as a deployment would."""
    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"CLIENTHUB_{name}", value)
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()


@pytest.fixture
def places(tmp_path, configure):
    """The one server root, a folder outside it (a colleague's home with their mbox), and
    the ways out of a root: a symlink, and ``..``."""
    root, home = tmp_path / "granted", tmp_path / "home" / "mikko"
    (root / "drive").mkdir(parents=True)
    home.mkdir(parents=True)
    box = mailbox.mbox(home / "mikko.mbox")
    box.add(mail("secret1", CLIENT, ["mikko@firm.test"], "Palkat", "salainen"))
    box.close()
    (root / "inside.mbox").write_bytes((home / "mikko.mbox").read_bytes())
    (root / "to-home").symlink_to(home)
    (root / "to-etc").symlink_to("/etc")
    configure(SERVER_ROOTS=str(root))
    return {
        "root": root,
        "inside": str(root / "inside.mbox"),
        "etc": "/etc",
        "colleague": str(home / "mikko.mbox"),
        "symlink": str(root / "to-home" / "mikko.mbox"),
        "symlink-dir": str(root / "to-etc"),
        "dotdot": f"{root}/../home/mikko/mikko.mbox",
        "relative": "granted/inside.mbox",
    }


def _account(kind: str, path: str, **extra) -> dict:
    return {"kind": kind, "name": "x", "settings": {"path": path}, **extra}


def _accounts(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Account))


# --- server paths: the admin's to grant -------------------------------------------------

@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_a_staff_member_adds_no_server_path_account(api, make_caller, session, places, kind):
    staff = make_caller()
    for where in ("inside", "etc", "colleague", "symlink", "symlink-dir", "dotdot",
                  "relative"):
        for owner in ({}, {"owner_user_id": staff.id}):
            refused = api.post("/api/v1/accounts", headers=staff.headers,
                               json=_account(kind, places[where], **owner))
            assert refused.status_code == 403, (where, refused.text)
            assert "only an admin" in refused.json()["error"]["message"]
    assert _accounts(session) == 0


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_an_admin_points_a_server_path_only_under_a_root(api, admin, make_caller, session,
                                                         places, kind):
    staff = make_caller()
    for where in ("etc", "colleague", "symlink", "symlink-dir", "dotdot", "relative"):
        refused = api.post("/api/v1/accounts", headers=admin.headers,
                           json=_account(kind, places[where], owner_user_id=staff.id))
        assert refused.status_code == 422, (where, refused.text)
        error = refused.json()["error"]
        assert error["field"] == "settings.path"
        assert ("absolute" if where == "relative" else "CLIENTHUB_SERVER_ROOTS") in \
            error["message"]
    assert _accounts(session) == 0


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_an_admins_grant_is_stored_resolved_and_on_record(api, admin, make_caller, session,
                                                          places, kind):
    from hub.access.models import AuditEntry

    staff = make_caller()
    root = places["root"]
    (root / "in-root").symlink_to(root / "drive")
    given = {"mail_archive": f"{root}/drive/../inside.mbox", "local": str(root / "in-root")}
    created = ok(api.post("/api/v1/accounts", headers=admin.headers,
                          json=_account(kind, given[kind], owner_user_id=staff.id)), 201)
    expected = {"mail_archive": root / "inside.mbox", "local": root / "drive"}[kind]
    assert created["settings"]["path"] == str(expected.resolve())
    assert created["owner_user_id"] == staff.id
    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "account.create"))
    assert row.actor_user_id == admin.id
    assert row.detail == {"account_id": created["id"], "kind": kind, "owner_user_id": staff.id,
                          "path": str(expected.resolve())}


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_patch_is_no_way_round(api, admin, make_caller, session, places, kind):
    staff = make_caller()
    root = places["root"]
    path = {"mail_archive": places["inside"], "local": str(root / "drive")}[kind]
    account = ok(api.post("/api/v1/accounts", headers=admin.headers,
                          json=_account(kind, path, owner_user_id=staff.id)), 201)
    url = f"/api/v1/accounts/{account['id']}"
    for elsewhere in (places["etc"], places["colleague"], places["symlink"], places["dotdot"],
                      str(root / "drive" / "sub"), ""):
        refused = api.patch(url, headers=staff.headers,
                            json={"settings": {"path": elsewhere}})
        assert refused.status_code == 403, (elsewhere, refused.text)
    refused = api.patch(url, headers=staff.headers, json={"settings": {}})
    assert refused.status_code == 403, refused.text
    # The owner keeps the granted path and changes the rest.
    kept = ok(api.patch(url, headers=staff.headers, json={
        "name": "Vanha posti", "share_level": "subject",
        "settings": {"path": f"{path}/." if kind == "local" else path, "clients_path": "A"}}))
    assert kept["settings"] == {"path": path, "clients_path": "A"}
    # An admin moves it, but only within the roots.
    for outside in (places["etc"], places["symlink"], places["dotdot"]):
        refused = api.patch(url, headers=admin.headers, json={"settings": {"path": outside}})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == "settings.path"
    moved = ok(api.patch(url, headers=admin.headers,
                         json={"settings": {"path": str(root / "drive" / "sub")}}))
    assert moved["settings"]["path"] == str((root / "drive" / "sub").resolve())


def test_accounts_that_read_no_server_path_stay_their_owners_own(api, make_caller):
    staff = make_caller()
    made = ok(api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "imap", "name": "Työposti", "settings": {"host": PUBLIC, "username": "u"}}),
        201)
    assert made["settings"]["port"] == 993
    other = make_caller()
    refused = api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "imap", "name": "x", "owner_user_id": other.id,
        "settings": {"host": PUBLIC, "username": "u"}})
    assert refused.status_code == 403


# --- outbound hosts: public, unless the firm allows more -----------------------------------

def test_imap_hosts_must_be_public(api, make_caller, admin, session, configure):
    configure(OUTBOUND_ALLOW="")  # the test environment's loopback allowance, taken away
    staff = make_caller()
    mine = ok(api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "imap", "name": "x", "settings": {"host": PUBLIC, "username": "u"}}), 201)
    for host in REFUSED_HOSTS:
        for caller in (staff, admin):
            refused = api.post("/api/v1/accounts", headers=caller.headers, json={
                "kind": "imap", "name": "x", "settings": {"host": host, "username": "u"}})
            assert refused.status_code == 422, (host, refused.text)
            error = refused.json()["error"]
            assert error["field"] == "settings.host"
            assert "CLIENTHUB_OUTBOUND_ALLOW" in error["message"]
        refused = api.patch(f"/api/v1/accounts/{mine['id']}", headers=staff.headers,
                            json={"settings": {"host": host, "username": "u"}})
        assert refused.status_code == 422, (host, refused.text)
        assert refused.json()["error"]["field"] == "settings.host"
    for port in (0, -1, 65536, "imap", True, 1.5, [993]):
        refused = api.post("/api/v1/accounts", headers=staff.headers, json={
            "kind": "imap", "name": "x", "settings": {"host": PUBLIC, "port": port,
                                                      "username": "u"}})
        assert refused.status_code == 422, (port, refused.text)
        assert refused.json()["error"]["field"] == "settings.port"
    assert _accounts(session) == 1


def test_webdav_addresses_must_be_public_http(api, make_caller, configure):
    configure(OUTBOUND_ALLOW="")
    staff = make_caller()
    mine = ok(api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "webdav", "name": "x",
        "settings": {"url": f"https://{PUBLIC}/remote.php/dav/files/u/", "username": "u"}}),
        201)
    for url in [*REFUSED_URLS, f"ftp://{PUBLIC}/", "file:///etc/passwd", "https:///x",
                f"http://u:p@{PUBLIC}/", "gopher://a/", f"http://{PUBLIC}:99999/"]:
        refused = api.post("/api/v1/accounts", headers=staff.headers, json={
            "kind": "webdav", "name": "x", "settings": {"url": url, "username": "u"}})
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["error"]["field"] == "settings.url"
        if url in REFUSED_URLS:
            assert "CLIENTHUB_OUTBOUND_ALLOW" in refused.json()["error"]["message"]
        refused = api.patch(f"/api/v1/accounts/{mine['id']}", headers=staff.headers,
                            json={"settings": {"url": url, "username": "u"}})
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["error"]["field"] == "settings.url"


def test_what_the_policy_allows_is_allowed(api, make_caller, configure):
    staff = make_caller()

    def imap(host: str) -> int:
        return api.post("/api/v1/accounts", headers=staff.headers, json={
            "kind": "imap", "name": "x", "settings": {"host": host, "username": "u"}}
        ).status_code

    # The test environment reaches its peers on loopback, by default only there.
    assert (imap("127.0.0.1"), imap("::1"), imap("localhost")) == (201, 201, 201)
    assert imap("10.1.2.3") == 422
    assert imap("imap.firm.invalid") == 422  # a name that resolves nowhere: a typo, here
    configure(OUTBOUND_ALLOW="10.0.0.0/8, imap.firm.internal, localhost")
    assert (imap("10.1.2.3"), imap("localhost"), imap("imap.firm.internal")) == (201,) * 3
    assert (imap("127.0.0.1"), imap("172.16.0.1"), imap("169.254.169.254")) == (422,) * 3
    webdav = api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "webdav", "name": "x", "settings": {"url": "http://10.0.0.7/dav/",
                                                    "username": "u"}})
    assert webdav.status_code == 201, webdav.text


def test_the_policy_defaults_by_environment(tmp_path):
    def of(**values) -> Settings:
        return Settings(_env_file=None, data_dir=tmp_path, server_roots="",
                        secret_key="k" * 40, **values)

    assert of(environment="production").outbound_exceptions == []
    assert of(environment="development").outbound_exceptions == []
    assert of(environment="test").outbound_exceptions == ["127.0.0.0/8", "::1/128"]
    assert of(environment="test", outbound_allow="").outbound_exceptions == []
    assert of(environment="production").allowed_server_roots == [tmp_path.resolve()]
    with pytest.raises(ValueError, match="CLIENTHUB_OUTBOUND_ALLOW"):
        of(outbound_allow="imap.firm.fi, not a host")


# --- right before connecting -------------------------------------------------------------

def test_the_policy_is_checked_again_before_connecting(session, session_factory, places,
                                                       configure):
    from hub.accounts.schemas import AccountIn
    from hub.accounts.service import create_account

    owner = f.user(session)
    root = places["root"]
    (root / "drive" / "1001 Oy Esimerkki Ab").mkdir()
    drive = create_account(session, None, AccountIn(
        kind="local", name="d", owner_user_id=owner.id, settings={"path": str(root / "drive")}))
    imap = create_account(session, None, AccountIn(
        kind="imap", name="m", owner_user_id=owner.id,
        settings={"host": "127.0.0.1", "port": 1143, "username": "u"}))
    webdav = create_account(session, None, AccountIn(
        kind="webdav", name="w", owner_user_id=owner.id,
        settings={"url": "http://localhost:8080/dav/", "username": "u"}))
    # A row as an older release stored it: a staff member's archive of a colleague's mbox.
    old = Account(owner_user_id=owner.id, kind="mail_archive", name="o",
                  settings={"path": places["colleague"]})
    # A name that does not resolve at the moment: nothing to reach, the connector fails
    # on it as on any unreachable server (and is retried).
    offline = Account(owner_user_id=owner.id, kind="imap", name="n",
                      settings={"host": "imap.firm.invalid", "username": "u"})
    session.add_all([old, offline])
    session.commit()
    assert connector_for(drive, None).root == (root / "drive").resolve()  # within: built
    assert connector_for(offline, None) is not None

    def refused(account: Account, field: str, says: str) -> None:
        for build in (lambda: connector_for(account, None), lambda: writer_for(account)):
            with pytest.raises(InvalidInput, match=says) as caught:
                build()
            assert caught.value.field == field
            assert caught.value.message.startswith("this account cannot be synced")

    refused(old, "settings.path", "CLIENTHUB_SERVER_ROOTS")
    with pytest.raises(InvalidInput):
        sync_account(session_factory, old.id)
    # The drive's folder is swapped for a symlink out of the root after it was granted.
    shutil.rmtree(root / "drive")
    (root / "drive").symlink_to(places["root"].parent / "home")
    refused(drive, "settings.path", "CLIENTHUB_SERVER_ROOTS")
    # The firm narrows its policy: what was let through is refused at the next sync.
    configure(OUTBOUND_ALLOW="")
    refused(imap, "settings.host", "CLIENTHUB_OUTBOUND_ALLOW")
    refused(webdav, "settings.url", "CLIENTHUB_OUTBOUND_ALLOW")


# --- no account a staff member can add opens a colleague's mail ----------------------------

def _granted_archive(api, admin, owner_id: int, path: Path, messages: list[bytes]) -> int:
    box = mailbox.mbox(path)
    for raw in messages:
        box.add(raw)
    box.close()
    return ok(api.post("/api/v1/accounts", headers=admin.headers, json=_account(
        "mail_archive", str(path), owner_user_id=owner_id)), 201)["id"]


def test_no_account_a_staff_member_adds_opens_a_colleagues_mail(
        api, admin, make_caller, session, session_factory, places, dovecot):  # noqa: F811
    colleague, staff = make_caller(name="Mikko"), make_caller(name="Liisa")
    client = client_with_contact(session)
    f.responsibility(session, session.get(User, colleague.id), client)
    session.commit()
    secret = mail("secret1", CLIENT, ["mikko@firm.test"], "Palkat", "salainen palkkalista")
    archive = _granted_archive(api, admin, colleague.id, places["root"] / "mikko.mbox",
                               [secret])
    sync_account(session_factory, archive)
    message = session.scalar(select(MailMessage).where(MailMessage.message_key == "secret1@test"))
    read = f"/api/v1/messages/{message.id}"
    assert ok(api.get(read, headers=colleague.headers))["text"].startswith("salainen")
    assert api.get(read, headers=staff.headers).status_code == 404

    # Every server path a staff member could name is refused outright.
    for kind in SERVER_KINDS:
        for path in (str(places["root"] / "mikko.mbox"), places["colleague"], places["root"]):
            assert api.post("/api/v1/accounts", headers=staff.headers,
                            json=_account(kind, str(path))).status_code == 403
    # Their own mailbox (IMAP, which they may add) with copies carrying the colleague's
    # Message-ID: the same headers over another body, and headers alone.
    box = dovecot.add_user()
    forged = mail("secret1", CLIENT, ["mikko@firm.test"], "Palkat", "kerro salaisuus")
    big = mail("secret1", CLIENT, ["mikko@firm.test"], "Palkat", "x" * 5000)
    box.create_folder("Archive")
    box.append("INBOX", [forged])
    box.append("Archive", [big])
    mine = ok(api.post("/api/v1/accounts", headers=staff.headers, json={
        "kind": "imap", "name": "Liisa", "secret": box.password,
        "settings": {"host": "127.0.0.1", "port": dovecot.port, "security": "plain",
                     "username": box.name, "folders": ["Archive"], "size_limit": 1000}}), 201)
    runs = sync_account(session_factory, mine["id"])
    assert all(r.status == "ok" for r in runs), [r.message for r in runs]
    assert api.get(read, headers=staff.headers).status_code == 404
    assert ok(api.get(read, headers=colleague.headers))["text"].startswith("salainen")
    session.expire_all()
    theirs = session.scalars(select(MailMessage).where(MailMessage.id != message.id)).all()
    assert len(theirs) == 2  # each forged copy is a message of its own, the forger's
    for own in theirs:
        shown = ok(api.get(f"/api/v1/messages/{own.id}", headers=staff.headers))
        assert shown["level"] == "full" and "salainen" not in (shown["text"] or "")
        assert shown["thread_id"] == message.thread_id  # still filed with the mail it names


def test_a_true_copy_still_joins_the_message(api, admin, make_caller, session,
                                             session_factory, places):
    """The same mail in two mailboxes - byte for byte, or with a disclaimer added on the
    way - stays one message, read in full by both owners."""
    sender, copied = make_caller(), make_caller()
    client_with_contact(session)
    first = mail("m1", CLIENT, ["a@firm.test"], "Tiliotteet", "Liitteenä tiliotteet.")
    footer = mail("m1", CLIENT, ["a@firm.test"], "Tiliotteet",
                  "Liitteenä tiliotteet.\n\n-- \nTämä viesti on luottamuksellinen.")
    a = _granted_archive(api, admin, sender.id, places["root"] / "a.mbox", [first])
    b = _granted_archive(api, admin, copied.id, places["root"] / "b.mbox", [first])
    c = _granted_archive(api, admin, copied.id, places["root"] / "c.mbox", [footer])
    for account in (a, b, c):
        sync_account(session_factory, account)
    session.expire_all()
    [message] = session.scalars(select(MailMessage)).all()
    for caller in (sender, copied):
        assert ok(api.get(f"/api/v1/messages/{message.id}",
                          headers=caller.headers))["level"] == "full"


# --- the command line applies the same rules -----------------------------------------------

def test_the_command_line_grants_under_the_same_rules(sqlite_template, tmp_path):
    from hub.access.models import AuditEntry

    data = tmp_path / "data"
    (data / "mail").mkdir(parents=True)
    database = tmp_path / "cli.sqlite3"
    shutil.copyfile(sqlite_template, database)
    engine = make_engine(f"sqlite:///{database}")
    with make_session_factory(engine)() as session:
        session.add(User(email="mikko@firm.fi", name="Mikko"))
        session.commit()
    (data / "mail" / "old.mbox").write_bytes(b"")
    (data / "out").symlink_to("/etc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(data), "CLIENTHUB_DATABASE_URL": f"sqlite:///{database}",
            "CLIENTHUB_ACCOUNT_SECRET": "pw", "PYTHONPATH": str(ROOT), "COLUMNS": "300"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", "accounts", "add", *args,
                               "--owner", "mikko@firm.fi"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    refused = [cli("archive", "--path", "/etc/passwd"), cli("local", "--path", str(data / "out")),
               cli("imap", "--host", "169.254.169.254", "--username", "m"),
               cli("webdav", "--url", "http://127.0.0.1/dav/", "--username", "m")]
    for result, says in zip(refused, ["CLIENTHUB_SERVER_ROOTS"] * 2
                            + ["CLIENTHUB_OUTBOUND_ALLOW"] * 2, strict=True):
        assert result.returncode == 1, result.stdout + result.stderr
        assert says in result.stderr and "Traceback" not in result.stderr
    added = cli("archive", "--path", str(data / "mail" / "old.mbox"))
    assert added.returncode == 0, added.stderr
    with make_session_factory(engine)() as session:
        [account] = session.scalars(select(Account)).all()
        assert account.settings["path"] == str((data / "mail" / "old.mbox").resolve())
        row = session.scalar(select(AuditEntry).where(AuditEntry.action == "account.create"))
        assert row.actor_user_id is None and row.detail["via"] == "command line"
        assert row.detail["owner_user_id"] == account.owner_user_id
    engine.dispose()
