"""Where an account may point: folders on the server, and hosts the workers connect to.

A ``mail_archive`` or ``local`` account is read by Client Hub with the server's own
rights, so its path is the admin's to grant: it must resolve (symlinks and ``..``
followed) to a place under one of ``CLIENTHUB_SERVER_ROOTS`` (default: the data dir). An
``imap`` or ``webdav`` account makes a worker connect where its settings say, so every
address its host resolves to must be public - not loopback, private, link-local,
multicast or reserved - unless ``CLIENTHUB_OUTBOUND_ALLOW`` lists the host or its
network.

Both are checked when an account is created or changed (:func:`checked_settings`) and
again right before a connector is built from it (:func:`connect_settings`): a root may
have been narrowed, a symlink swapped or a name made to resolve elsewhere since.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.errors import InvalidInput
from hub.settings import Settings, get_settings

#: Account kinds that read a path on the server itself.
SERVER_PATH_KINDS = ("mail_archive", "local")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ALLOW = "CLIENTHUB_OUTBOUND_ALLOW"


def server_path(value: object, settings: Settings | None = None,
                field: str = "settings.path") -> str:
    """``value`` resolved, when it lies under an allowed server root."""
    settings = settings or get_settings()
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("give the folder or file on the server as a string", field=field)
    given = Path(value)
    if not given.is_absolute():
        raise InvalidInput(f"{value!r} is not an absolute path; give the whole path on the "
                           "server, e.g. /srv/mail/mikko.mbox", field=field)
    try:
        resolved = given.resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a symlink loop
        raise InvalidInput(f"{value!r} cannot be resolved on the server ({exc})",
                           field=field) from exc
    roots = settings.allowed_server_roots
    if not any(resolved.is_relative_to(root) for root in roots):
        shown = value if str(resolved) == value else f"{value} (that is, {resolved})"
        raise InvalidInput(
            f"{shown} is outside the folders Client Hub may read on the server "
            f"({', '.join(map(str, roots))}); move it under one of them, or have the "
            "server's administrator add its folder to CLIENTHUB_SERVER_ROOTS", field=field)
    return str(resolved)


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def _not_public(address: IPAddress) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    address = _embedded(address)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


def _exceptions(settings: Settings) -> tuple[list[IPNetwork], set[str]]:
    networks: list[IPNetwork] = []
    names: set[str] = set()
    for entry in settings.outbound_exceptions:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return networks, names


def _resolve(host: str, port: int, field: str, connecting: bool) -> set[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        if connecting:  # nothing to reach: the connector fails as it does, and retries
            return set()
        raise InvalidInput(f"{host} does not resolve ({exc}); check the host name, or - if "
                           f"only the workers can resolve it - list it in {_ALLOW}",
                           field=field) from exc
    # A scoped IPv6 address comes back as "fe80::1%eth0".
    return {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}


def outbound(host: object, port: object, settings: Settings | None = None, *,
             host_field: str = "settings.host", port_field: str = "settings.port",
             connecting: bool = False) -> None:
    """Refuse a host any of whose addresses is not public, unless the policy allows it.
    A name that does not resolve is refused too, but right before connecting (where DNS
    may be down for a moment) it is left to the connector to fail on."""
    settings = settings or get_settings()
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise InvalidInput("give the server's host name or address", field=host_field)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput(f"{port!r} is not a port; give a number from 1 to 65535",
                           field=port_field)
    name = host.strip("[]").lower().rstrip(".")
    networks, names = _exceptions(settings)
    if name in names:
        return
    for address in sorted(_resolve(name, port, host_field, connecting), key=str):
        kind = _not_public(address)
        if kind is None or any(a in net for a in (address, _embedded(address))
                               for net in networks if net.version == a.version):
            continue
        said = host if name == str(address) else f"{host} resolves to {address}, which"
        raise InvalidInput(
            f"{said} is a {kind} address; accounts connect only to public addresses unless "
            f"the server's administrator lists the host or its network in {_ALLOW} "
            f"(for example {_ALLOW}={name})", field=host_field)


def _port(value: object, default: int) -> object:
    """A port as stored: a number, or digits (the CLI and older rows)."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return value


def web_url(url: object, settings: Settings | None = None,
            field: str = "settings.url", connecting: bool = False) -> None:
    """An http(s) URL without credentials, whose host passes :func:`outbound`."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("give the WebDAV address, e.g. "
                           "https://cloud.firm.fi/remote.php/dav/files/USER/", field=field)
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:
        raise InvalidInput(f"{url!r} is not a valid address ({exc})", field=field) from exc
    if split.scheme not in ("http", "https") or not split.hostname:
        raise InvalidInput(f"{url!r} is not an http:// or https:// address", field=field)
    if split.username is not None or split.password is not None:
        raise InvalidInput("give the user name and password apart from the address, not in "
                           "it", field=field)
    outbound(split.hostname, port or (443 if split.scheme == "https" else 80), settings,
             host_field=field, port_field=field, connecting=connecting)


def checked_settings(kind: str, values: Mapping[str, Any], settings: Settings | None = None,
                     *, connecting: bool = False) -> dict[str, Any]:
    """The account's settings with its server path resolved, once they are within the
    policy; raises :class:`InvalidInput` naming the setting otherwise."""
    out = dict(values)
    if kind in SERVER_PATH_KINDS:
        out["path"] = server_path(values.get("path"), settings)
    elif kind == "imap":
        out["port"] = _port(values.get("port"), 993)
        outbound(values.get("host"), out["port"], settings, connecting=connecting)
    elif kind == "webdav":
        web_url(values.get("url"), settings, connecting=connecting)
    return out


def connect_settings(kind: str, values: Mapping[str, Any],
                     settings: Settings | None = None) -> dict[str, Any]:
    """:func:`checked_settings` right before connecting: the connector is built from what
    this returns (the path as it resolves now), so nothing checked earlier is trusted."""
    try:
        return checked_settings(kind, values, settings, connecting=True)
    except InvalidInput as exc:
        raise InvalidInput(f"this account cannot be synced: {exc.message}",
                           field=exc.field) from exc


__all__ = ["SERVER_PATH_KINDS", "checked_settings", "connect_settings", "outbound",
           "server_path", "web_url"]
