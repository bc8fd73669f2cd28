"""Reads a WebDAV drive (Nextcloud, ownCloud, any RFC 4918 server) into a ``drive`` stream."""

from connectors.webdav.connector import WebDavConnector

__all__ = ["WebDavConnector"]
