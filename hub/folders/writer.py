"""The few things folder enforcement asks of a drive, whatever the drive is.

Implementations live beside their connectors (``connectors/local/writer.py``,
``connectors/webdav/writer.py``) and satisfy this protocol by shape; the hub never imports
them. Paths are relative to the drive root, ``/``-separated, without a trailing ``/``.

Each operation is one atomic step at the source - a mkdir, a rename, a MKCOL, a MOVE - so a
failed one leaves the drive as it was. None of them ever replaces an existing entry: a
wrong overwrite loses a client's documents, a refused one costs a retry. Failures are
:class:`hub.sync.protocol.SourceError` with a message that says what to do.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class DriveWriter(Protocol):
    def exists(self, path: str) -> bool:
        """Whether an entry of exactly this name is there (case and accents included:
        on a case-insensitive drive ``Valtakirjat`` is not there while ``valtakirjat`` is)."""
        ...

    def is_empty_folder(self, path: str) -> bool:
        """Whether ``path`` is a folder with nothing in it."""
        ...

    def make_folder(self, path: str) -> None:
        """Create the folder; its parent must exist and the name must be free."""
        ...

    def move(self, src: str, dst: str, is_folder: bool) -> None:
        """Rename or move ``src`` to ``dst``; refuses when ``dst`` is taken."""
        ...

    def remove_empty_folder(self, path: str) -> None:
        """Remove the folder only if it is empty (for undoing a create)."""
        ...

    def close(self) -> None:
        """Release connections; whoever built the writer closes it."""
        ...


__all__ = ["DriveWriter"]
