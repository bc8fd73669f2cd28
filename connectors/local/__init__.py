"""Indexing a local or synced folder (a OneDrive, Dropbox or network-share folder on disk)."""

from connectors.local.connector import LocalFolderConnector

__all__ = ["LocalFolderConnector"]
