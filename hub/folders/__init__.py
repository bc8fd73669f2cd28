"""Folder templates: what every client's folder should look like, how a real client folder
has drifted from it, and the fixes.

The pure logic, on names and relative paths - no database, no disk: ``template`` parses and
expands a template, :mod:`hub.naming` (below the drive index too, which names client roots
by it) compares folder names the way people misspell them and finds the client a root
folder belongs to, ``drift`` lists what differs and plans the fixes (it creates freely,
asks before renaming or moving, and never deletes).

Around it: ``templates`` stores the firm's templates, ``check`` compares the drive index
with them, ``planning`` stores the fixes as actions, ``apply`` carries them out through a
``writer.DriveWriter`` step by step, and ``service`` is what the API, CLI and workers call.
"""

from hub.folders.drift import Action, DriftFinding, find_drift, plan
from hub.folders.template import DEFAULT_TEMPLATE, FolderNode, FolderTemplate, expand
from hub.naming import ClientFacts, RootMatch, match_root, root_name

__all__ = [
    "DEFAULT_TEMPLATE",
    "Action",
    "ClientFacts",
    "DriftFinding",
    "FolderNode",
    "FolderTemplate",
    "RootMatch",
    "expand",
    "find_drift",
    "match_root",
    "plan",
    "root_name",
]
