"""Parses a WebDAV ``207 Multi-Status`` answer to PROPFIND incrementally.

The answer is fed to the parser chunk by chunk as it arrives and every ``<response>`` is
turned into a small :class:`Entry` and dropped from the tree at once, so a folder with
50,000 children never becomes one DOM in memory.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit

DAV = "{DAV:}"
OC = "{http://owncloud.org/ns}"

#: What one PROPFIND asks for. Servers answer unknown properties with a 404 propstat.
PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
    b'xmlns:nc="http://nextcloud.org/ns"><d:prop>'
    b"<d:resourcetype/><d:getetag/><d:getlastmodified/><d:getcontentlength/>"
    b"<d:getcontenttype/><oc:fileid/><oc:size/>"
    b"</d:prop></d:propfind>"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One resource of a listing; ``path`` is the decoded URL path the server gave."""

    path: str
    is_folder: bool
    etag: str | None = None
    modified: datetime | None = None
    size: int | None = None
    content_type: str | None = None
    file_id: str | None = None


def parse_multistatus(chunks: Iterable[bytes]) -> Iterator[Entry]:
    """Yields one entry per successful ``<response>`` as soon as it has been read."""
    # Expat (2.4+) refuses entity-expansion bombs and ElementTree never fetches external
    # entities: a hostile server gets no further than a parse error.
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    root: ET.Element | None = None
    for chunk in chunks:
        parser.feed(chunk)
        for event in parser.read_events():
            elem = event[-1]
            if not isinstance(elem, ET.Element):
                continue  # namespace events; not asked for
            if event[0] == "start":
                root = elem if root is None else root
            elif elem.tag == DAV + "response":
                entry = _entry(elem)
                if root is not None:
                    # The response is a direct child of the root: clearing the root drops it
                    # (and every earlier one) from the tree.
                    root.clear()
                if entry is not None:
                    yield entry
    parser.close()
    for event in parser.read_events():
        elem = event[-1]
        if isinstance(elem, ET.Element) and event[0] == "end" and elem.tag == DAV + "response":
            entry = _entry(elem)
            if entry is not None:
                yield entry


def _entry(response: ET.Element) -> Entry | None:
    href = response.findtext(DAV + "href")
    if not href:
        return None
    status = response.findtext(DAV + "status")
    if status is not None and not _ok(status):
        return None
    props: dict[str, ET.Element] = {}
    for propstat in response.iterfind(DAV + "propstat"):
        if not _ok(propstat.findtext(DAV + "status") or ""):
            continue
        prop = propstat.find(DAV + "prop")
        if prop is not None:
            for child in prop:
                props[child.tag] = child
    if not props:
        return None
    kind = props.get(DAV + "resourcetype")
    is_folder = kind is not None and kind.find(DAV + "collection") is not None
    path = unquote(urlsplit(href.strip()).path)
    size = _int(_text(props, DAV + "getcontentlength"))
    if size is None:
        size = _int(_text(props, OC + "size"))
    return Entry(
        path=path,
        is_folder=is_folder,
        etag=_text(props, DAV + "getetag"),
        modified=_date(_text(props, DAV + "getlastmodified")),
        size=size,
        content_type=None if is_folder else _text(props, DAV + "getcontenttype"),
        file_id=_text(props, OC + "fileid"),
    )


def _ok(status: str) -> bool:
    # "HTTP/1.1 200 OK"
    parts = status.split()
    return len(parts) >= 2 and parts[1].startswith("2")


def _text(props: dict[str, ET.Element], tag: str) -> str | None:
    elem = props.get(tag)
    if elem is None or elem.text is None:
        return None
    value = elem.text.strip()
    return value or None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # RFC 1123 dates are GMT; a server that leaves the zone out still means GMT.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
