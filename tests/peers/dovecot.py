"""A throw-away Dovecot IMAP server for the connector tests.

Each server lives in a temp dir with a generated config, listens on a free loopback port
without TLS, keeps Maildirs under the temp dir and skips fsync (it is thrown away). Users
come from passwd-files with plain passwords, one file per user (``users/%u``), so
:meth:`DovecotServer.add_user` gives each test a mailbox of its own at once and at no
cost; seeding and changing mail goes over IMAP (MULTIAPPEND, STORE, MOVE, EXPUNGE) and
``doveadm`` (UIDVALIDITY, kicking connections).

Two flavours: the stock capability list, and ``condstore=False``, which advertises
neither CONDSTORE nor QRESYNC, as Exchange and older servers do, so that the connector's
fallback path (UID-set diff, flag digests) runs against a real server.

As root the master stays root (it must, to switch users) while the mail processes run as
``nobody``, the Maildir owner, and the internal and login processes as Dovecot's own
unprivileged users. As an ordinary user everything runs as that user.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient

from tests.peers.postgres import PeerMissing, free_port, stop_process

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"

#: Dovecot 2.3's post-login capabilities minus CONDSTORE and QRESYNC (and the extensions
#: that imply them); ``imap_capability`` replaces the list, it cannot subtract from it.
NO_CONDSTORE_CAPABILITY = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN "
    "CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+ SPECIAL-USE"
)

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = clienthub-test-{port}
log_path = {root}/dovecot.log
ssl = no
# Loopback only and throw-away: plain LOGIN without TLS is what the tests speak.
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once, and a test's failed logins do not slow the next.
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_fsync = never
mail_location = maildir:~/Maildir
mail_uid = {mail_user}
mail_gid = {mail_group}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_max_userip_connections = 200
{capability}
passdb {{
  driver = passwd-file
  # One file per user: a shared file is re-read at most once a second, which would hide
  # users added in quick succession.
  args = scheme=PLAIN {root}/users/%u
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
service imap-login {{
  # No chroot: it needs root, and the temp dir is no place to build one.
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # No auth penalty: after the wrong-password test, the next logins would wait seconds.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth-worker {{
  user = $default_internal_user
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class MailUser:
    """One mailbox on the server, with helpers that seed and change it over IMAP."""

    server: DovecotServer
    name: str
    password: str

    @contextmanager
    def client(self, folder: str | None = None, *, readonly: bool = False) -> Iterator[IMAPClient]:
        """A logged-in session of our own, apart from the connector's."""
        client = IMAPClient("127.0.0.1", self.server.port, ssl=False, timeout=30)
        try:
            client.login(self.name, self.password)
            if folder is not None:
                client.select_folder(folder, readonly=readonly)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()
            with contextlib.suppress(Exception):
                client.shutdown()

    def create_folder(self, folder: str) -> None:
        with self.client() as c:
            c.create_folder(folder)

    def append(
        self,
        folder: str,
        messages: Iterable[bytes],
        *,
        flags: Sequence[str] = (),
        when: datetime | None = None,
    ) -> list[int]:
        """Appends in one MULTIAPPEND round trip; returns the new UIDs (UIDPLUS)."""
        msgs: list[dict[str, object]] = []
        for raw in messages:
            entry: dict[str, object] = {"msg": raw, "flags": list(flags)}
            if when is not None:
                entry["date"] = when
            msgs.append(entry)
        if not msgs:
            return []
        with self.client() as c:
            response = c.multiappend(folder, msgs)
        return _appenduid(response)

    def uids(self, folder: str) -> list[int]:
        with self.client(folder, readonly=True) as c:
            return sorted(int(u) for u in c.search("ALL"))

    def flags(self, folder: str) -> dict[int, set[str]]:
        """Each message's flags as the server has them (read-only, changes nothing)."""
        with self.client(folder, readonly=True) as c:
            fetched = c.fetch(c.search("ALL"), ["FLAGS"])
        return {
            int(uid): {f.decode() for f in data[b"FLAGS"] if f != b"\\Recent"}
            for uid, data in fetched.items()
        }

    def set_flags(self, folder: str, uids: Sequence[int], flags: Sequence[str]) -> None:
        with self.client(folder) as c:
            c.set_flags(list(uids), list(flags))

    def add_flags(self, folder: str, uids: Sequence[int], flags: Sequence[str]) -> None:
        with self.client(folder) as c:
            c.add_flags(list(uids), list(flags))

    def expunge(self, folder: str, uids: Sequence[int]) -> None:
        with self.client(folder) as c:
            c.delete_messages(list(uids))
            c.uid_expunge(list(uids))

    def move(self, folder: str, uids: Sequence[int], target: str) -> None:
        with self.client(folder) as c:
            c.move(list(uids), target)

    def set_uidvalidity(self, folder: str, uidvalidity: int) -> None:
        """What a server restored from backup or a rebuilt index does to a client's
        cursor: the same messages under a new UIDVALIDITY."""
        self.server.doveadm("mailbox", "update", "-u", self.name,
                            "--uid-validity", str(uidvalidity), folder)

    def status(self, folder: str) -> dict[bytes, int]:
        with self.client() as c:
            return dict(c.folder_status(folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"]))

    def kick(self, timeout: float = 10) -> None:
        """Drops every IMAP connection of this user, as a server restart would, and
        returns once their processes are gone, so the client's next command fails."""
        pids = [int(line.split()[2]) for line in
                self.server.doveadm("who", "-1", self.name).splitlines()[1:] if line.strip()]
        if not pids:
            return
        self.server.doveadm("kick", self.name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(_alive(pid) for pid in pids):
                return
            time.sleep(0.02)
        raise RuntimeError(f"IMAP processes {pids} of {self.name} outlived the kick")


@dataclass(slots=True)
class DovecotServer:
    """A running server; ``condstore`` says whether it advertises CONDSTORE/QRESYNC."""

    root: Path
    port: int
    condstore: bool
    process: subprocess.Popen[bytes]

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        name = name or f"u{uuid.uuid4().hex[:10]}"
        password = password or uuid.uuid4().hex
        (self.root / "users" / name).write_text(f"{name}:{{PLAIN}}{password}\n",
                                                  encoding="utf-8")
        return MailUser(self, name, password)

    def doveadm(self, *args: str) -> str:
        done = subprocess.run([DOVEADM, "-c", str(self.config), *args],
                              capture_output=True, text=True, check=False, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def log_tail(self, chars: int = 2000) -> str:
        log = self.root / "dovecot.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def _appenduid(response: object) -> list[int]:
    # imapclient hands back (typ, [b"[APPENDUID <uidvalidity> <uid-set>] Append completed."])
    text = repr(response)
    if "APPENDUID" not in text:
        return []
    uid_set = text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1]
    uids: list[int] = []
    for part in uid_set.split(","):
        lo, _, hi = part.partition(":")
        uids.extend(range(int(lo), int(hi or lo) + 1))
    return uids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _identities() -> dict[str, str | int]:
    if os.geteuid() == 0:
        # nobody owns the mail; Dovecot refuses to run mail processes as root.
        mail = pwd.getpwnam("nobody")
        group = grp.getgrgid(mail.pw_gid)
        internal = "dovecot" if _user_exists("dovecot") else "nobody"
        login = "dovenull" if _user_exists("dovenull") else "nobody"
    else:
        mail = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid())
        internal = login = mail.pw_name
    return {
        "mail_user": mail.pw_name, "mail_group": group.gr_name,
        "mail_uid": mail.pw_uid, "mail_gid": group.gr_gid,
        "internal_user": internal, "internal_group": grp.getgrgid(
            pwd.getpwnam(internal).pw_gid).gr_name,
        "login_user": login,
    }


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _check_binary() -> str:
    if not (os.access(DOVECOT, os.X_OK) and os.access(DOVEADM, os.X_OK)):
        raise PeerMissing(
            "Dovecot is not installed; install the Debian package dovecot-imapd "
            "(scripts/install-peers.sh does)"
        )
    version = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    if not version.startswith("2.3."):
        # 2.4 rewrote the config syntax; this generator speaks 2.3's (Debian 12).
        raise PeerMissing(f"Dovecot {version or '?'} found; the test peer needs 2.3.x")
    return version


@contextmanager
def dovecot_server(*, condstore: bool = True) -> Iterator[DovecotServer]:
    _check_binary()
    root = Path(tempfile.mkdtemp(prefix="clienthub-dovecot-"))
    # The mail and auth processes run unprivileged and must reach their files.
    root.chmod(0o755)
    ids = _identities()
    for sub in ("run", "state", "mail", "users"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        shutil.chown(root / "mail", str(ids["mail_user"]), str(ids["mail_group"]))
    port = free_port()
    capability = "" if condstore else f"imap_capability = {NO_CONDSTORE_CAPABILITY}"
    (root / "dovecot.conf").write_text(
        _CONFIG.format(root=root, port=port, capability=capability, **ids), encoding="utf-8")
    out = (root / "stderr.log").open("wb")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                               stdout=out, stderr=subprocess.STDOUT, cwd=root)
    out.close()
    server = DovecotServer(root=root, port=port, condstore=condstore, process=process)
    try:
        _wait(server)
        yield server
    finally:
        stop_process(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait(server: DovecotServer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            stderr = (server.root / "stderr.log").read_text(errors="replace")[-1500:]
            raise PeerMissing(f"Dovecot exited at start: {stderr} {server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise PeerMissing(f"Dovecot did not greet on port {server.port}: {server.log_tail()}")
