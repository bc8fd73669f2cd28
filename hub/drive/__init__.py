"""The drive index: the folders of the firm's drives, each with its files, filed under
clients.

``models`` (DriveFolder, ClientRoot), ``listing`` (what drive connectors yield, how a
folder's files are kept), ``sink`` (the sync sink), ``index`` (reading the index),
``roots`` (which folder is which client's), ``activity`` and ``entries`` (drive activity
into the client timeline, collapsed), ``service`` and ``schemas`` (browsing, the review
list, admins' mappings).
"""
