"""Fixtures shared by every test: a real database per test (SQLite and PostgreSQL), a manual clock, an engine.

Storage tests take ``engine`` (or ``database_url``) and so run once per backend. Each
test gets a fresh database copied from a template migrated once per session: a file
copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import sh
from tests.support.postgres import PostgresCluster, find_bindir, start_cluster
from workflow import schema
from workflow.clock import ManualClock
from workflow.database import create_database_engine
from workflow.engine import Engine

AUDIT_KEY = "test-audit-key"
BACKENDS = ("sqlite", "postgresql")
_serial = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_database_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; PostgreSQL tests skipped"
        if os.environ.get("FILINGFLOW_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, but FILINGFLOW_REQUIRE_POSTGRES=1", pytrace=False)
        pytest.skip(reason)
    cluster = start_cluster(bindir)
    try:
        cluster.execute("CREATE DATABASE ff_template")
        engine = create_database_engine(cluster.url("ff_template"))
        schema.upgrade(engine)
        engine.dispose()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "filingflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    name = f"t_{os.getpid()}_{next(_serial)}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE ff_template")
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# chinesecalendar learns each next year in November or December: the tests pin what it may know, so
# "a year whose arrangement is not published yet" (2027) stays one when a newer package is installed
PACKAGE_UNTIL = 2026


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, audit_key=AUDIT_KEY, calendar_package_until=PACKAGE_UNTIL)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(sh("2025-08-20 09:00"))


@pytest.fixture
def engine(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    built = bootstrap(settings, clock=clock)
    yield built
    built.database.dispose()


@pytest.fixture
def audit_key() -> bytes:
    return AUDIT_KEY.encode()
