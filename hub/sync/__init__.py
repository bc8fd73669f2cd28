"""Syncing sources into the hub: the connector protocol and the runner that commits items
and cursors together."""
