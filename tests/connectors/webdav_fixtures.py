"""Helpers for the WebDAV connector tests: draining a read, a model of the hub's side of
the listing contract, and a scripted in-process server (httpx.MockTransport) for
what the real test servers cannot show: Nextcloud's folder ETags and failing answers.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from connectors.webdav import WebDavConnector
from hub.sync.protocol import Checkpoint, Item


def drain(conn: WebDavConnector, cursor: Mapping[str, Any] | None,
          stream: str = "drive") -> tuple[list[Item], Mapping[str, Any]]:
    """All items of one complete read and the cursor of its last checkpoint."""
    items: list[Item] = []
    last: Checkpoint | None = None
    for element in conn.read(stream, cursor):
        if isinstance(element, Checkpoint):
            last = element
        else:
            items.append(element)
    assert last is not None, "a read must end with a checkpoint"
    assert "walk" not in last.cursor, "a finished walk leaves no pending folders"
    return items, last.cursor


def entries(items: Iterable[Item]) -> dict[str, dict[str, Any]]:
    """Every entry the listings name, by path (folders ending in "/"), with its facts."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        assert item.kind == "listing" and item.external_id == "/" + item.data["folder"]
        folder = item.data["folder"]
        out |= {folder + f["name"]: dict(f) for f in item.data["files"]}
        out |= {folder + f["name"] + "/": dict(f) for f in item.data["folders"]}
    return out


def listings(items: Iterable[Item]) -> dict[str, list[str]]:
    """The children each listing names, folders ending in "/"."""
    return {str(i.data["folder"]): sorted([f["name"] for f in i.data["files"]]
                                          + [f["name"] + "/" for f in i.data["folders"]])
            for i in items if i.kind == "listing"}


@dataclass
class HubModel:
    """What the hub does with listings (hub.drive.listing): each is the whole truth about
    its folder's children, a subfolder it does not name gone with its subtree."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, items: Iterable[Item]) -> None:
        for item in items:
            folder = str(item.data["folder"])
            named = entries([item])
            for path in [p for p in self.live if p.startswith(folder) and p != folder
                         and "/" not in p[len(folder):].rstrip("/")]:
                if path not in named:
                    self._gone(path)
            self.live |= named

    def _gone(self, path: str) -> None:
        for key in [k for k in self.live if k == path
                    or (path.endswith("/") and k.startswith(path))]:
            del self.live[key]


def disk_tree(root: Path) -> set[str]:
    """The external ids a full index of ``root`` must hold."""
    found = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        found.add(rel + "/" if path.is_dir() else rel)
    return found


# -- a scripted server ------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class FakeNode:
    etag: str
    children: dict[str, FakeNode] | None = None  # None: a file
    size: int = 0


def multistatus(base: str, path: str, node: FakeNode, depth: str) -> bytes:
    """A Nextcloud-like PROPFIND answer (with oc:fileid) for ``path`` in the fake tree."""
    rows = [(path, node)]
    if depth == "1" and node.children is not None:
        rows += [(f"{path}{name}{'/' if child.children is not None else ''}", child)
                 for name, child in node.children.items()]
    parts = []
    for p, n in rows:
        kind = "<d:collection/>" if n.children is not None else ""
        length = ("" if n.children is not None
                  else f"<d:getcontentlength>{n.size}</d:getcontentlength>")
        parts.append(
            f"<d:response><d:href>{quote(base + p)}</d:href><d:propstat><d:prop>"
            f"<d:resourcetype>{kind}</d:resourcetype><d:getetag>&quot;{n.etag}&quot;</d:getetag>"
            f"<d:getlastmodified>Tue, 03 Mar 2026 10:00:00 GMT</d:getlastmodified>{length}"
            f"<oc:fileid>{zlib.crc32(p.encode())}</oc:fileid></d:prop>"
            "<d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
            "<d:propstat><d:prop><oc:owner-display-name/></d:prop>"
            "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>")
    return ('<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
            'xmlns:oc="http://owncloud.org/ns">' + "".join(parts) + "</d:multistatus>").encode()


class FakeNextcloud:
    """Serves a :class:`FakeNode` tree under ``/remote.php/dav/files/u/`` and records the
    PROPFINDs; ``fail`` can answer any request first."""

    base = "/remote.php/dav/files/u"

    def __init__(self, tree: FakeNode) -> None:
        self.tree = tree
        self.listed: list[str] = []
        self.fail: Handler | None = None

    def connector(self, **kwargs: Any) -> WebDavConnector:
        client = httpx.Client(transport=httpx.MockTransport(self.handle))
        return WebDavConnector(f"https://cloud.example{self.base}/", "u", "pw",
                               client=client, **kwargs)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail is not None:
            answer = self.fail(request)
            if answer is not None:
                return answer
        path = unquote(urlsplit(str(request.url)).path)[len(self.base):]
        node = self.tree
        for part in [p for p in path.split("/") if p]:
            if node.children is None or part not in node.children:
                return httpx.Response(404)
            node = node.children[part]
        self.listed.append(path)
        depth = request.headers.get("Depth", "1")
        return httpx.Response(207, content=multistatus(self.base, path, node, depth))
