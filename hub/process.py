"""What a process that syncs does once its code is loaded.

The imported code of a process - SQLAlchemy, pydantic, the models - is about a million
objects that live as long as the process. Marked permanent for the garbage collector
(``gc.freeze``), they are no longer walked by every full collection during a large sync,
nor once more at exit (0.2 s at the end of every ``clienthub sync`` before this).
Objects made afterwards are collected as always, the youngest of them after 20,000
allocations rather than 700: a sync makes and drops a batch's rows, records and parsed
mail by the thousand, and sweeping them every 700 was a twentieth of a first sync's time.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call after the imports of a command or worker process, before its work."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(20_000, older, oldest)
