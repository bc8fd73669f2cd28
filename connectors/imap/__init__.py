"""Reads an IMAP account's folders into per-folder ``mail:<folder>`` streams."""

from connectors.imap.connector import ImapConnector, pick_sent_folder

__all__ = ["ImapConnector", "pick_sent_folder"]
