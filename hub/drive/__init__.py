"""The drive index: every file and folder of the firm's drives, filed under clients.

``models`` (DriveItem, ClientRoot), ``rows`` (item -> row, what changed), ``sink`` (the
sync sink, per item and set-based), ``roots`` (which folder is which client's),
``activity`` and ``entries`` (drive activity into the client timeline, collapsed),
``service`` and ``schemas`` (browsing, the review list, admins' mappings).
"""
