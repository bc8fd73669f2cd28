"""The database URL read without the settings is the one the settings resolve, whatever
the environment and ``.env`` say."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import database_url
from hub.settings import Settings

PG = "postgresql+psycopg://clienthub@db.firm.internal/clienthub"
OTHER = "postgresql+psycopg://other@db2.firm.internal/other"


def sqlite_in(folder: str) -> str:
    return f"sqlite:///{{cwd}}/{folder}/clienthub.sqlite3".replace("/./", "/")


@pytest.mark.parametrize("environment, env_file, expected", [
    ({}, None, sqlite_in("var")),
    ({"CLIENTHUB_DATABASE_URL": PG}, None, PG),
    ({"clienthub_database_url": PG}, None, PG),
    ({"CLIENTHUB_DATA_DIR": "data"}, None, sqlite_in("data")),
    ({"CLIENTHUB_DATA_DIR": ""}, None, sqlite_in(".")),
    ({"CLIENTHUB_DATA_DIR": "first", "clienthub_data_dir": "last"}, None, sqlite_in("last")),
    ({}, f'# the firm\'s database\nexport CLIENTHUB_DATABASE_URL="{PG}"\n', PG),
    ({}, "CLIENTHUB_DATA_DIR = 'hub data'  # a comment\n", sqlite_in("hub data")),
    ({}, "Clienthub_Data_Dir=mixed\nCLIENTHUB_DATABASE_URL=\n", sqlite_in("mixed")),
    ({}, f"CLIENTHUB_DATABASE_URL={PG}\nclienthub_database_url\n", sqlite_in("var")),
    ({"CLIENTHUB_DATABASE_URL": OTHER}, f"CLIENTHUB_DATABASE_URL={PG}\n", OTHER),
    ({"CLIENTHUB_DATABASE_URL": ""}, f"CLIENTHUB_DATABASE_URL={PG}\nCLIENTHUB_DATA_DIR=d\n",
     sqlite_in("d")),
    ({"CLIENTHUB_DATA_DIR": "from-env"}, "CLIENTHUB_DATA_DIR=from-file\n",
     sqlite_in("from-env")),
    ({"FIRM_DIR": "firm"}, "CLIENTHUB_DATA_DIR=${FIRM_DIR}/hub\n", sqlite_in("firm/hub")),
])
def test_read_without_the_settings_as_the_settings_read_it(environment, env_file, expected,
                                                           monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    for name in ("CLIENTHUB_DATABASE_URL", "CLIENTHUB_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file, encoding="utf-8")
    assert Settings().resolved_database_url == expected.format(cwd=tmp_path.resolve())
    assert database_url.configured() == expected.format(cwd=tmp_path.resolve())
