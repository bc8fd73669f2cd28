"""Where the hub's database is: the one rule, and a reading of it that loads nothing.

:class:`hub.settings.Settings` resolves ``resolved_database_url`` with :func:`resolve`.
A command that must answer at once (``clienthub status``, which a monitoring check runs
every minute) cannot wait the tenth of a second pydantic-settings takes to load, so
:func:`configured` reads the two settings the rule needs as pydantic-settings reads them
for :class:`~hub.settings.Settings`: ``CLIENTHUB_DATABASE_URL`` and ``CLIENTHUB_DATA_DIR``
from the environment, else from ``.env`` in the working directory (parsed by
python-dotenv, as pydantic-settings parses it), their names in any case. This is the one
other reader of the environment; ``tests/test_settings.py`` holds the two readings equal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: What every setting's variable starts with.
PREFIX = "CLIENTHUB_"
#: The optional file of settings, in the working directory.
ENV_FILE = ".env"
DEFAULT_DATA_DIR = Path("var")
#: The embedded database's file in the data dir.
SQLITE_FILE = "clienthub.sqlite3"


def resolve(database_url: str | None, data_dir: Path) -> str:
    """The database URL given, else the SQLite file in the data dir."""
    if database_url:
        return database_url
    return f"sqlite:///{(data_dir / SQLITE_FILE).resolve()}"


def configured() -> str:
    """The database URL the settings resolve to now, read without loading them."""
    found = _variables(("database_url", "data_dir"))
    data_dir = found.get("data_dir")
    return resolve(found.get("database_url"),
                   DEFAULT_DATA_DIR if data_dir is None else Path(data_dir))


def _variables(names: tuple[str, ...]) -> dict[str, str | None]:
    """The settings ``names`` as given: the environment first, then ``.env``; a name
    given nowhere (or bare in ``.env``) is left out. Names match in any case, the last
    spelling winning, as pydantic-settings matches them."""
    keys = {f"{PREFIX}{name}".lower(): name for name in names}
    found: dict[str, str | None] = {}
    for key, value in os.environ.items():
        if key.lower() in keys:
            found[keys[key.lower()]] = value
    if len(found) < len(names):
        for key, file_value in _env_file().items():
            name = keys.get(key.lower())
            if name is not None and name not in found and file_value is not None:
                found[name] = file_value
    return found


def _env_file() -> Mapping[str, str | None]:
    path = Path(ENV_FILE)
    if not (path.is_file() or path.is_fifo()):
        return {}
    from dotenv import dotenv_values  # only when there is a file to read

    # Lower-cased as pydantic-settings does, so that the last spelling wins here too.
    return {key.lower(): value for key, value in
            dotenv_values(path, encoding="utf-8").items()}


__all__ = ["DEFAULT_DATA_DIR", "ENV_FILE", "PREFIX", "SQLITE_FILE", "configured", "resolve"]
