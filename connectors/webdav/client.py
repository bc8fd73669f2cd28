"""The HTTP side of the WebDAV connector: PROPFIND listings streamed into the parser,
MKCOL and MOVE, and every failure turned into a :class:`SourceError` that says what the
user should do.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import httpx

from connectors.webdav.listing import PROPFIND_BODY, Entry, parse_multistatus
from hub.sync.protocol import SourceError


class FolderMissing(SourceError):
    """404 on a listing: the walker treats it as a deleted folder below the root."""


class DavClient:
    def __init__(self, base_url: str, username: str, password: str,
                 client: httpx.Client | None = None, timeout: float = 60) -> None:
        split = urlsplit(base_url)
        if split.scheme not in {"http", "https"} or not split.netloc:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.origin = f"{split.scheme}://{split.netloc}"
        #: Decoded path of the DAV root, without the trailing slash ("" for the host root).
        self.base_path = unquote(split.path).rstrip("/")
        self.username = username
        self.auth = httpx.BasicAuth(username, password)
        self.http = client if client is not None else httpx.Client(timeout=timeout)
        self._owns_http = client is None

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def url(self, path: str) -> str:
        """The URL of a decoded absolute path (``/Tilinpäätös/2026/``)."""
        return self.origin + quote(path, safe="/")

    def list(self, path: str, depth: str = "1") -> Iterator[Entry]:
        """Streams the PROPFIND answer for ``path`` through the incremental parser."""
        what = f"listing the folder {path!r}"
        headers = {"Depth": depth, "Content-Type": 'application/xml; charset="utf-8"'}
        try:
            with self.http.stream("PROPFIND", self.url(path), headers=headers,
                                  content=PROPFIND_BODY, auth=self.auth) as response:
                if response.status_code != 207:
                    response.read()
                    raise status_error(response.status_code, "read", path, self.username)
                yield from parse_multistatus(response.iter_bytes())
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from exc
        except SyntaxError as exc:  # ElementTree's ParseError
            raise SourceError(
                f"the server's answer to {what} is not valid WebDAV XML ({exc}); if this "
                "repeats, check that the address points at the WebDAV endpoint",
                retryable=True) from exc

    def exists(self, path: str) -> bool:
        try:
            for _entry in self.list(path, depth="0"):
                pass
        except FolderMissing:
            return False
        return True

    def mkcol(self, path: str) -> None:
        self._send("MKCOL", path, {}, "mkcol", 201)

    def move(self, src: str, dst: str, overwrite: bool) -> None:
        headers = {"Destination": self.url(dst), "Overwrite": "T" if overwrite else "F"}
        try:
            self._send("MOVE", src, headers, "move", 201, 204, dst=dst)
        except SourceError as exc:
            if "HTTP 403" not in exc.message:
                raise
            # rclone (and other golang.org/x/net/webdav servers) answer 403 where RFC 4918
            # says 404 (no source) or 409 (no destination folder): find out which.
            if not self.exists(src):
                raise status_error(404, "move", src, self.username, dst=dst) from exc
            parent = dst.rstrip("/").rsplit("/", 1)[0] + "/"
            if not self.exists(parent):
                raise status_error(409, "move", src, self.username, dst=dst) from exc
            raise

    def _send(self, method: str, path: str, headers: dict[str, str], op: str,
              *ok: int, dst: str | None = None) -> None:
        try:
            response = self.http.request(method, self.url(path), headers=headers,
                                         auth=self.auth)
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"{method} {path!r}") from exc
        if response.status_code not in ok:
            raise status_error(response.status_code, op, path, self.username, dst=dst)


def transport_error(exc: httpx.HTTPError, what: str) -> SourceError:
    if isinstance(exc, httpx.TimeoutException):
        return SourceError(f"the server did not answer in time while {what}; "
                           "it is tried again later", retryable=True)
    return SourceError(f"could not reach the server while {what} ({exc.__class__.__name__}: "
                       f"{exc}); check the address and the network - it is tried again later",
                       retryable=True)


def status_error(status: int, op: str, path: str, user: str,
                 dst: str | None = None) -> SourceError:
    """What an HTTP status means for a read (``read``), a ``mkcol`` or a ``move``."""
    if status in (401, 407):
        return SourceError(
            f"the server refused the login of {user!r} (HTTP {status}): check the user "
            "name and password - on Nextcloud and ownCloud with two-factor login, create "
            "an app password under Settings > Security")
    if status == 403:
        doing = {"read": "read", "mkcol": "create", "move": "move"}.get(op, op)
        same = " (or the source and destination are the same)" if op == "move" else ""
        return SourceError(
            f"the server does not let {user!r} {doing} {path!r} (HTTP 403){same}: ask the "
            "drive's owner for access to the folder")
    if status == 404:
        if op == "move":
            return FolderMissing(f"{path!r} does not exist on the server (HTTP 404): it was "
                                 "moved or removed meanwhile; re-read the drive and retry")
        return FolderMissing(f"the folder {path!r} does not exist on the server (HTTP 404): "
                             "check the folder path in the account settings")
    if status == 405:
        if op == "mkcol":
            return SourceError(f"{path!r} already exists on the server (HTTP 405)")
        return SourceError(f"the server does not allow this on {path!r} (HTTP 405): check "
                           "that the address points at a WebDAV folder")
    if status == 409:
        where = dst if op == "move" else path
        return SourceError(f"the parent folder of {where!r} does not exist (HTTP 409): "
                           "create the parent folder first")
    if status == 412:
        return SourceError(f"{dst or path!r} already exists (HTTP 412): pick another name "
                           "or move with overwrite=True to replace it")
    if status == 423:
        return SourceError(f"{path!r} is locked on the server (HTTP 423), for example open "
                           "in an editor; it is tried again later", retryable=True)
    if status == 507:
        return SourceError(f"the server has no space left for {user!r} (HTTP 507): free "
                           "space or raise the quota; it is tried again later", retryable=True)
    if status == 502 and op == "move":
        return SourceError(f"the server cannot move {path!r} to {dst!r} (HTTP 502): the "
                           "destination is on another server or share")
    if status >= 500:
        return SourceError(f"the server failed (HTTP {status}) on {path!r}; it is tried "
                           "again later - if it keeps failing, tell the server's admin",
                           retryable=True)
    return SourceError(f"unexpected HTTP {status} from the server on {path!r}")
