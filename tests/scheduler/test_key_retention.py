"""Idempotency keys, the engine's and the HTTP API's, are kept at least 24 h, then purged by the worker's tick.

RELIABILITY.md: "keys ... kept at least 24 h". ``FILINGFLOW_IDEMPOTENCY_RETENTION_HOURS`` (24 by
default, never less) says how long; the tick purges older keys in small batches by the injected
clock, and a replay within the retention still returns the first answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.settings import Settings, SettingsError
from scheduler import jobs
from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow import idempotency
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import audit_events, cases, idempotency_keys

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))
VARIABLE = "FILINGFLOW_IDEMPOTENCY_RETENTION_HOURS"


def _keys(engine: Engine) -> set[str]:
    with engine.database.connect() as conn:
        return set(conn.execute(sa.select(idempotency_keys.c.key)).scalars())


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.database.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _open(engine: Engine, serial: int, key: str) -> int:
    body: dict[str, Any] = {"applicant": applicant(serial), "data": complete_data()}
    return engine.open_case(PROGRAM, **body, actor=PLATFORM, idempotency_key=key).id


def test_keys_older_than_24_hours_go_and_younger_ones_stay_and_replay(engine: Engine, clock: ManualClock) -> None:
    old = _open(engine, 1, "old")
    clock.advance(timedelta(hours=1))
    young = _open(engine, 2, "young")
    submitted = engine.fire(young, "submit", actor=PLATFORM, idempotency_key="young-submit")
    clock.advance(timedelta(hours=23, seconds=1))  # "old" is 24 h 1 s old, the others 23 h 1 s

    report = jobs.deadline_pass(engine, "test-worker")

    assert report.purged == 1
    assert _keys(engine) == {"young", "young-submit"}
    events = _count(engine, audit_events)
    assert _open(engine, 2, "young") == young, "a replay within the retention returns the first answer"
    again = engine.fire(young, "submit", actor=PLATFORM, idempotency_key="young-submit")
    assert (again.version, again.state) == (submitted.version, submitted.state)
    assert _count(engine, audit_events) == events, "and writes nothing"
    assert engine.get_case(old).state == "draft", "purging a key changes no case"


def test_a_longer_retention_keeps_and_replays_past_a_day(engine: Engine, clock: ManualClock) -> None:
    first = _open(engine, 1, "k")
    clock.advance(timedelta(hours=47, minutes=59))
    assert jobs.deadline_pass(engine, "test-worker", key_retention=timedelta(hours=48)).purged == 0
    assert _open(engine, 1, "k") == first
    assert _count(engine, cases) == 1
    clock.advance(timedelta(minutes=2))
    assert jobs.deadline_pass(engine, "test-worker", key_retention=timedelta(hours=48)).purged == 1
    assert _keys(engine) == set()


def test_the_purge_deletes_in_small_batches_until_done(engine: Engine, clock: ManualClock) -> None:
    now = clock.now()
    with engine.database.begin() as conn:
        for serial in range(23):
            created = now - timedelta(hours=30) if serial < 20 else now - timedelta(hours=1)
            conn.execute(
                idempotency_keys.insert().values(
                    scope="platform-backend", key=f"k{serial}", fingerprint="0" * 64, result={}, created_at=created
                )
            )
    assert idempotency.purge_keys(engine.database, cutoff=now - timedelta(hours=24), batch=7) == 20
    assert _keys(engine) == {"k20", "k21", "k22"}


def test_a_retention_under_24_hours_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        jobs.purge_keys(engine, timedelta(hours=23, minutes=59))


@pytest.mark.parametrize("bad", ["23", "0", "-24", "1.5", "day", "87841"])
def test_the_setting_below_24_hours_or_malformed_is_refused_naming_it(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"FILINGFLOW_VAR_DIR": str(tmp_path), VARIABLE: bad})
    (problem,) = refused.value.problems
    assert problem.startswith(f"{VARIABLE}='{bad}': "), problem


def test_the_setting_is_read_in_hours(tmp_path: Path) -> None:
    assert Settings.from_env({"FILINGFLOW_VAR_DIR": str(tmp_path)}).key_retention == timedelta(hours=24)
    settings = Settings.from_env({"FILINGFLOW_VAR_DIR": str(tmp_path), VARIABLE: "72"})
    assert settings.key_retention == timedelta(hours=72)


def _worker_once(database_url: str, clock_start: str, retention: str) -> str:
    env = {
        **os.environ,
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
        "FILINGFLOW_SANDBOX": "1",
        "FILINGFLOW_CLOCK_START": clock_start,
        VARIABLE: retention,
    }
    done = subprocess.run(
        [FILINGFLOW, "worker", "--once"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_worker_process_purges_by_the_setting(engine: Engine, database_url: str) -> None:
    # keys made at 2025-08-20 09:00 (the fixture's clock); the worker runs on a sandbox clock
    case_id = _open(engine, 1, "opened")
    engine.fire(case_id, "submit", actor=PLATFORM, idempotency_key="submitted")
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    _worker_once(database_url, "2025-08-21T10:00:00+08:00", "48")  # 25 h later: kept for 48 h
    assert _keys(engine) == {"opened", "submitted"}
    _worker_once(database_url, "2025-08-22T10:00:00+08:00", "48")  # 49 h later
    assert _keys(engine) == set()
