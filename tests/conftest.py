"""Fixtures shared by every test: a real database per test, a manual clock, a wired engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import sh
from workflow.clock import ManualClock
from workflow.engine import Engine

AUDIT_KEY = "test-audit-key"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'filingflow.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, audit_key=AUDIT_KEY)


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
