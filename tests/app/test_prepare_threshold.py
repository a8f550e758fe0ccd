"""FILINGFLOW_DB_PREPARE_THRESHOLD reaches psycopg: preparing off for PgBouncer in transaction mode.

PgBouncer before 1.21 (Debian 12 ships 1.18) does not track server-side prepared statements, so
two clients sharing a server connection collide (bench/README.md, "Beyond one machine"); the
setting turns psycopg's preparing off, on a real PostgreSQL connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bootstrap import open_database
from app.settings import Settings, SettingsError
from tests.support.postgres import PostgresCluster

VARIABLE = "FILINGFLOW_DB_PREPARE_THRESHOLD"


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> str:
    return postgres.url()


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"FILINGFLOW_DATABASE_URL": url, "FILINGFLOW_VAR_DIR": str(tmp_path), **extra}


def _driver_threshold(settings: Settings) -> object:
    database = open_database(settings)
    try:
        with database.connect() as conn:
            driver = conn.connection.dbapi_connection
            assert driver is not None
            return driver.prepare_threshold  # type: ignore[attr-defined]
    finally:
        database.dispose()


@pytest.mark.parametrize(("given", "expected"), [("off", None), ("NONE", None), ("0", 0), ("12", 12)])
def test_the_setting_reaches_a_real_psycopg_connection(
    pg_url: str, tmp_path: Path, given: str, expected: int | None
) -> None:
    settings = Settings.from_env(_env(pg_url, tmp_path, **{VARIABLE: given}))
    assert settings.db_prepare_threshold == expected
    assert _driver_threshold(settings) == expected


def test_unset_keeps_psycopgs_default_of_five(pg_url: str, tmp_path: Path) -> None:
    settings = Settings.from_env(_env(pg_url, tmp_path))
    assert settings.db_prepare_threshold == 5
    assert _driver_threshold(settings) == 5


@pytest.mark.parametrize("bad", ["-1", "five", "1.5", "٣", "1e3", "1000001", "off please"])
def test_a_bad_value_is_refused_naming_the_variable(tmp_path: Path, bad: str) -> None:
    url = "postgresql+psycopg://filingflow@127.0.0.1:5432/filingflow"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(url, tmp_path, **{VARIABLE: bad}))
    (problem,) = refused.value.problems
    assert problem.startswith(f"{VARIABLE}="), problem
    assert bad in problem.split(":")[0], "the value read is quoted"


def test_on_sqlite_the_setting_is_refused_rather_than_silently_ignored(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(f"sqlite:///{tmp_path}/ff.db", tmp_path, **{VARIABLE: "off"}))
    (problem,) = refused.value.problems
    assert problem.startswith(f"{VARIABLE}='off': "), problem
    assert "SQLite" in problem
    with pytest.raises(SettingsError, match=VARIABLE):  # the default database is SQLite too
        Settings.from_env({"FILINGFLOW_VAR_DIR": str(tmp_path), VARIABLE: "off"})


def test_sqlite_ignores_the_default_and_opens(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(f"sqlite:///{tmp_path}/ff.db", tmp_path))
    database = open_database(settings)
    try:
        with database.connect() as conn:
            assert conn.exec_driver_sql("select 1").scalar_one() == 1
    finally:
        database.dispose()
