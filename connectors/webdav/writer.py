"""Folder fixes on a WebDAV drive: MKCOL, MOVE with ``Overwrite: F``, and DELETE of a
folder only after a listing shows it empty.

Shaped after :class:`hub.folders.writer.DriveWriter`. WebDAV has no "delete if empty": a
DELETE of a collection removes everything below it. So undoing a create lists the folder
first and deletes only when it is empty; a file dropped in between those two requests
would be lost, which is why the hub offers this only for folders it created itself.
"""

from __future__ import annotations

import httpx

from connectors.webdav.client import FolderMissing, status_error, transport_error
from connectors.webdav.connector import WebDavConnector
from hub.sync.protocol import SourceError


def _folder(path: str) -> str:
    return path.rstrip("/") + "/"


class WebDavWriter:
    def __init__(self, connector: WebDavConnector) -> None:
        self.conn = connector

    def _names(self, folder: str) -> list[str] | None:
        """The names in ``folder`` (relative, no trailing /), None when it is not there."""
        prefix = _folder(folder) if folder else ""
        names: list[str] = []
        try:
            for entry in self.conn.dav.list(self.conn.abs_path(prefix)):
                rel = self.conn.rel_path(entry)
                if rel is None or rel == prefix:
                    if rel == prefix and not entry.is_folder:
                        return None
                    continue
                name = rel[len(prefix):].rstrip("/")
                if rel.startswith(prefix) and name and "/" not in name:
                    names.append(name)
        except FolderMissing:
            return None
        return names

    def exists(self, path: str) -> bool:
        parent, _, name = path.rstrip("/").rpartition("/")
        return name in (self._names(parent) or [])

    def is_empty_folder(self, path: str) -> bool:
        return self._names(path.rstrip("/")) == []

    def make_folder(self, path: str) -> None:
        try:
            self.conn.mkcol(path)
        except SourceError as exc:
            if "HTTP 405" in exc.message:
                raise SourceError(f"{path!r} already exists on the server and nothing is "
                                  "ever replaced; sync the drive and check again") from exc
            raise

    def move(self, src: str, dst: str, is_folder: bool) -> None:
        source, target = (_folder(src), _folder(dst)) if is_folder else (src, dst)
        try:
            self.conn.move(source, target, overwrite=False)
        except SourceError as exc:
            if "HTTP 412" in exc.message:
                raise SourceError(f"cannot move {src!r} to {dst!r}: the destination already "
                                  "exists and nothing is ever replaced; merge the two by "
                                  "hand, then check again") from exc
            raise

    def close(self) -> None:
        self.conn.close()

    def remove_empty_folder(self, path: str) -> None:
        if not self.is_empty_folder(path):
            raise SourceError(f"{path!r} is no longer empty, so it was left in place; remove "
                              "it by hand if it is really not needed")
        dav = self.conn.dav
        where = self.conn.abs_path(_folder(path))
        try:
            response = dav.http.request("DELETE", dav.url(where), auth=dav.auth,
                                        headers={"Depth": "infinity"})
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"removing {where!r}") from exc
        if response.status_code not in (200, 204):
            raise status_error(response.status_code, "remove", where, dav.username)


__all__ = ["WebDavWriter"]
