"""Importing old mail from a folder of .eml files, a Maildir or an mbox file."""

from connectors.mail_archive.connector import MailArchiveConnector

__all__ = ["MailArchiveConnector"]
