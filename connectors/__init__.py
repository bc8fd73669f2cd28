"""Connectors: one package per source (IMAP, Microsoft Graph, Gmail, WebDAV, local folders,
Google Drive). Each yields items and checkpoints and imports only ``hub.sync.protocol`` and
its own client library; none touches the database."""
