"""Configuration from the environment: sane defaults, and a clear error naming a bad variable."""

from __future__ import annotations

import pytest

from app.bootstrap import bootstrap
from app.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


def test_defaults_need_nothing_set() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.db_pool_size, settings.db_max_overflow) == (5, 10)
    assert (settings.calendar_package_until, settings.programs, settings.clock_start) == (None, None, None)
    assert settings.audit_key_is_default


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FILINGFLOW_DB_POOL_SIZE", "0"),
        ("FILINGFLOW_DB_POOL_SIZE", "many"),
        ("FILINGFLOW_DB_MAX_OVERFLOW", "-1"),
        ("FILINGFLOW_CALENDAR_PACKAGE_UNTIL", "next year"),
        ("FILINGFLOW_WORKER_INTERVAL", "0"),
        ("FILINGFLOW_SMTP_TLS", "maybe"),
        ("FILINGFLOW_CLOCK_START", "2025-08-20T09:00:00+08:00"),  # without FILINGFLOW_SANDBOX=1
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_pool_settings_reach_a_server_database(database_url: str) -> None:
    settings = Settings.from_env(
        {"FILINGFLOW_DATABASE_URL": database_url, "FILINGFLOW_DB_POOL_SIZE": "3", "FILINGFLOW_DB_MAX_OVERFLOW": "0"}
    )
    engine = bootstrap(settings, migrate=False)
    try:
        pool = engine.database.pool
        if database_url.startswith("postgresql"):
            assert (pool.size(), pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
        else:  # the embedded file keeps SQLAlchemy's own pool: the settings size a server's connections
            assert pool.size() == 5  # type: ignore[attr-defined]
    finally:
        engine.database.dispose()
