from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.errors import ConfigurationError
from hub.settings import Settings


def test_defaults_are_the_embedded_run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'var' / 'clienthub.sqlite3'}"
    assert settings.time_zone == "Europe/Helsinki" and settings.language == "fi"


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("CLIENTHUB_LANGUAGE", "en")
    monkeypatch.setenv("CLIENTHUB_DATABASE_URL", "postgresql+psycopg://x@localhost/y")
    settings = Settings(_env_file=None)
    assert settings.language == "en"
    assert settings.resolved_database_url.startswith("postgresql+psycopg://")


def test_secret_key_is_never_shown():
    settings = Settings(_env_file=None, secret_key="a-very-long-and-secret-value-0123456789")
    assert "a-very-long" not in repr(settings) and "a-very-long" not in str(settings.model_dump())


@pytest.mark.parametrize("key", ["", "changeme", "development-only-secret-key", "short"])
def test_production_refuses_weak_secret(key):
    with pytest.raises((ConfigurationError, ValidationError), match="CLIENTHUB_SECRET_KEY"):
        Settings(_env_file=None, environment="production", secret_key=key)


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError, match="IANA"):
        Settings(_env_file=None, time_zone="Mars/Olympus")


def test_background_work_settings(monkeypatch):
    settings = Settings(_env_file=None)
    assert settings.broker_url is None  # embedded: tasks run in-process
    assert (settings.sync_interval_minutes, settings.folders_enforce_hour) == (15, 2)
    monkeypatch.setenv("CLIENTHUB_BROKER_URL", "redis://redis.internal:6379/0")
    monkeypatch.setenv("CLIENTHUB_SYNC_INTERVAL_MINUTES", "5")
    monkeypatch.setenv("CLIENTHUB_FOLDERS_ENFORCE_HOUR", "23")
    settings = Settings(_env_file=None)
    assert settings.broker_url == "redis://redis.internal:6379/0"
    assert (settings.sync_interval_minutes, settings.folders_enforce_hour) == (5, 23)


@pytest.mark.parametrize("field, value", [("sync_interval_minutes", 0),
                                          ("folders_enforce_hour", 24)])
def test_schedule_settings_are_bounded(field, value):
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None, **{field: value})
