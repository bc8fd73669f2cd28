"""One IMAP connection: connect, log in, and the few commands the sync needs.

Everything imapclient and the socket can raise is turned into :class:`SourceError` here,
with a message a user can act on; network failures are retryable, refusals are not.

Three commands go past imapclient's ``fetch``/``search`` to imaplib (imapclient's
``_imap``), because imapclient cannot express them: ``UID FETCH`` over a range with
modifiers (its ``fetch`` insists on explicit UIDs), the ``VANISHED`` answers QRESYNC adds,
and ESEARCH's compact ``UID SEARCH RETURN (ALL)``. FETCH answers are read by
:mod:`connectors.imap.fetch`, which falls back to imapclient's parser for any shape it
does not know.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError

from connectors.imap.fetch import parse_fetch, read_fetch
from connectors.imap.uidset import UidSet
from hub.sync.protocol import SourceError

Security = str  # "tls" | "starttls" | "plain"
_SECURITY = ("tls", "starttls", "plain")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_PROTOCOL_LOG = logging.getLogger("imapclient.imaplib")
_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)")
# Response codes (RFC 5530) that say "try again later" rather than "no".
_TRANSIENT = (b"[UNAVAILABLE]", b"[INUSE]", b"[LIMIT]", b"[SERVERBUG]")


def is_loopback(host: str) -> bool:
    """Decided from the name alone: nothing is resolved, nothing is contacted."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    username: str
    password: str
    security: Security
    allow_plain_remote: bool
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class FolderInfo:
    uidvalidity: int
    uidnext: int
    exists: int
    #: None without CONDSTORE (or NOMODSEQ on this mailbox).
    highestmodseq: int | None


class ImapSession:
    def __init__(self, client: IMAPClient, endpoint: Endpoint) -> None:
        self.client = client
        self.endpoint = endpoint
        caps = client.capabilities()
        self.capabilities = frozenset(c.decode().upper() for c in caps)
        self.qresync = False
        #: FETCH answers read ahead of the command they belong to (see finish_fetch).
        self._early: dict[int, dict[bytes, Any]] = {}
        self._enabled = False

    @classmethod
    def open(cls, endpoint: Endpoint) -> ImapSession:
        ep = endpoint
        if ep.security not in _SECURITY:
            raise SourceError(f"unknown IMAP security {ep.security!r}; use one of {_SECURITY}")
        if ep.security == "plain" and not (ep.allow_plain_remote or is_loopback(ep.host)):
            raise SourceError(
                f"refusing to send the password for {ep.username} to {ep.where} without "
                "encryption; use security 'tls' or 'starttls' (plain is allowed on loopback "
                "only unless explicitly permitted)"
            )
        with translate_errors(ep, "connecting"):
            try:
                client = IMAPClient(
                    ep.host, ep.port, ssl=ep.security == "tls",
                    ssl_context=ssl.create_default_context() if ep.security == "tls" else None,
                    timeout=SocketTimeout(connect=min(ep.timeout, 30), read=ep.timeout),
                )
            except OSError as exc:
                raise _unreachable(ep, exc) from exc
            try:
                if ep.security == "starttls":
                    if not client.has_capability("STARTTLS"):
                        raise SourceError(f"{ep.where} does not offer STARTTLS; "
                                          "use security 'tls' or a different port")
                    try:
                        client.starttls(ssl.create_default_context())
                    except OSError as exc:
                        raise _unreachable(ep, exc) from exc
                try:
                    client.login(ep.username, ep.password)
                except LoginError as exc:
                    raise SourceError(
                        f"the server refused the login for {ep.username}; check the user "
                        f"name and password ({_text(exc)})"
                    ) from exc
                # INTERNALDATE as the server gave it, zone and all, not naive local time.
                client.normalise_times = False
                if not _PROTOCOL_LOG.isEnabledFor(logging.DEBUG):
                    # imapclient has imaplib log every line; unlogged, that was a tenth
                    # of reading a mailbox.
                    client._imap.debug = 0
                return cls(client, ep)
            except BaseException:
                _drop(client)
                raise

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:  # the session is over either way
            _drop(self.client)

    def folders(self) -> list[tuple[frozenset[str], str]]:
        """(flags, name) of every folder; flags upper-cased, e.g. ``\\SENT``."""
        with translate_errors(self.endpoint, "listing the folders"):
            listed = self.client.list_folders()
        return [(frozenset(f.decode().upper() for f in flags), name)
                for flags, _delim, name in listed]

    def examine(self, folder: str) -> FolderInfo:
        """Selects read-only (EXAMINE): nothing we do marks a message read."""
        self._early.clear()
        with translate_errors(self.endpoint, f"opening the folder {folder!r}"):
            # ENABLE belongs before the first SELECT of a session (RFC 5161).
            if self._enabled:
                pass
            elif "QRESYNC" in self.capabilities and "ENABLE" in self.capabilities:
                self.qresync = b"QRESYNC" in [c.upper() for c in self.client.enable("QRESYNC")]
            elif "CONDSTORE" in self.capabilities and "ENABLE" in self.capabilities:
                self.client.enable("CONDSTORE")
            self._enabled = True
            try:
                resp = self.client.select_folder(folder, readonly=True)
            except imaplib.IMAP4.error as exc:
                if isinstance(exc, imaplib.IMAP4.abort):
                    raise
                raise SourceError(
                    f"cannot open the folder {folder!r} on {self.endpoint.where}; it may have "
                    f"been renamed or deleted ({_text(exc)})",
                    retryable=_transient(exc),
                ) from exc
        modseq = resp.get(b"HIGHESTMODSEQ")
        if b"NOMODSEQ" in resp:
            modseq = None
        return FolderInfo(
            uidvalidity=int(resp[b"UIDVALIDITY"]),
            uidnext=int(resp.get(b"UIDNEXT", 0)) or self._uidnext_fallback(),
            exists=int(resp.get(b"EXISTS", 0)),
            highestmodseq=None if modseq is None else int(modseq),
        )

    def _uidnext_fallback(self) -> int:
        # UIDNEXT is optional in old servers' SELECT answers; the last UID + 1 will do.
        found = self.search(["ALL"])
        return found.max + 1 if found else 1

    def fetch(self, uids: str, items: Sequence[str],
              modifiers: Sequence[str] = ()) -> tuple[dict[int, dict[bytes, Any]], UidSet]:
        """``UID FETCH uids (items) (modifiers)``: the answers by UID, and the UIDs the
        server reported VANISHED (QRESYNC), which are empty otherwise."""
        imap = self.client._imap
        imap.untagged_responses.pop("VANISHED", None)
        args = [uids, f"({' '.join(items)})"]
        if modifiers:
            args.append(f"({' '.join(modifiers)})")
        typ, data = imap.uid("FETCH", *args)
        _check(typ, data, "FETCH", self.endpoint)
        vanished = UidSet()
        for line in imap.untagged_responses.pop("VANISHED", []):
            vanished_text = bytes(line).decode("ascii", "replace")
            vanished_text = vanished_text.replace("(EARLIER)", "").strip()
            for lo, hi in UidSet.parse(vanished_text).ranges:
                vanished.add_range(lo, hi)
        if data == [None]:
            return {}, vanished
        # Keyed by sequence number first: an unsolicited FETCH (another session changed a
        # flag) may carry no UID, and must not be taken for the message whose UID equals
        # its sequence number.
        parsed = parse_fetch(data)
        return {int(v[b"UID"]): v for v in parsed.values() if b"UID" in v}, vanished

    def send_fetch(self, uids: str, items: Sequence[str]) -> bytes:
        """Send ``UID FETCH uids (items)`` without waiting for the answer; returns the
        command's tag for :meth:`finish_fetch`. The sync keeps a FETCH or two ahead, so
        that the server reads the next batch while the hub stores this one."""
        with translate_errors(self.endpoint, "asking for messages"):
            tag: bytes = self.client._imap._command("UID", "FETCH", uids,
                                                    f"({' '.join(items)})")
            return tag

    def finish_fetch(self, tag: bytes, wanted: Collection[int]) -> dict[int, dict[bytes, Any]]:
        """The answers for ``wanted`` to a FETCH sent by :meth:`send_fetch`, by UID. A
        server that runs pipelined commands at once may answer for a later one before
        this one is done: answers for other UIDs are kept until the command they belong
        to is finished, so nothing asked for is taken for missing."""
        imap = self.client._imap
        with translate_errors(self.endpoint, "reading messages"):
            # Merged by UID with those kept: a later unsolicited FLAGS answer adds to the
            # one with the body, never replaces it.
            typ, data, early = read_fetch(imap, tag, self._early)
            _check(typ, data, "FETCH", self.endpoint)
        found = {uid: early.pop(uid) for uid in [u for u in early if u in wanted]}
        if len(early) > 100_000:  # unsolicited answers for messages nobody asked for
            early.clear()
        return found

    def search(self, criteria: Sequence[str]) -> UidSet:
        """``UID SEARCH``; compact (ESEARCH) where the server can, so a large mailbox
        answers in a few bytes."""
        imap = self.client._imap
        if "ESEARCH" in self.capabilities:
            imap.untagged_responses.pop("ESEARCH", None)
            typ, data = imap.uid("SEARCH", "RETURN", "(ALL)", *criteria)
            _check(typ, data, "SEARCH", self.endpoint)
            out = UidSet()
            for line in imap.untagged_responses.pop("ESEARCH", []):
                match = _ESEARCH_ALL.search(bytes(line))
                if match:
                    for lo, hi in UidSet.parse(match.group(1).decode()).ranges:
                        out.add_range(lo, hi)
            return out
        typ, data = imap.uid("SEARCH", *criteria)
        _check(typ, data, "SEARCH", self.endpoint)
        return UidSet.of(int(n) for line in data if line for n in bytes(line).split())


@contextmanager
def translate_errors(endpoint: Endpoint, doing: str) -> Iterator[None]:
    """Turns a dropped connection into a retryable SourceError (the runner resumes from
    the last checkpoint) and a refused command into a plain one."""
    try:
        yield
    except SourceError:
        raise
    except (imaplib.IMAP4.abort, OSError, EOFError) as exc:
        raise SourceError(
            f"the connection to {endpoint.where} broke while {doing} ({_text(exc)}); "
            "the sync will resume from its last checkpoint",
            retryable=True,
        ) from exc
    except imaplib.IMAP4.error as exc:
        raise SourceError(f"{endpoint.where} refused a command while {doing}: {_text(exc)}",
                          retryable=_transient(exc)) from exc


def _unreachable(ep: Endpoint, exc: OSError) -> SourceError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SourceError(f"the TLS certificate of {ep.where} could not be verified "
                           f"({exc.verify_message}); check the host name")
    if isinstance(exc, ssl.SSLError):
        return SourceError(f"TLS with {ep.where} failed ({_text(exc)}); check the port and "
                           "the security setting (tls on 993, starttls on 143)")
    if isinstance(exc, socket.gaierror):
        return SourceError(f"cannot reach {ep.where}: the host name does not resolve "
                           f"({_text(exc)}); check the host name", retryable=True)
    return SourceError(f"cannot reach {ep.where} ({_text(exc)}); check the host name and "
                       "port, and that the server is up", retryable=True)


def _check(typ: str, data: list[Any], command: str, endpoint: Endpoint) -> None:
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise SourceError(f"{endpoint.where} answered {typ} to {command}: {detail}",
                          retryable=_transient(detail.encode()))


def _transient(exc: BaseException | bytes) -> bool:
    text = exc if isinstance(exc, bytes) else str(exc).encode(errors="replace")
    return any(code in text.upper() for code in _TRANSIENT)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _drop(client: IMAPClient) -> None:
    with suppress(Exception):
        client.shutdown()
