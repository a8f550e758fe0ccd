"""FILINGFLOW_CLOCK_RATE: a sandbox timeline running faster than real time (issue 16, item 1).

The round simulation (``python -m bench round``) lives through a month-long filing window in
minutes; every process on the sandbox shares the rate as it shares the start. The rate is
refused outside a sandbox, like a moved clock, so it can never reach a production database.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.sandbox import (
    Segment,
    TimelineClock,
    append_segment,
    sandbox_timeline,
    schedule_timeline,
    shared_timeline,
)
from app.settings import Settings, SettingsError
from tests.conftest import AUDIT_KEY
from tests.support.http import process_env, serve_process
from workflow.clock import ManualClock, SystemClock
from workflow.database import create_database_engine

START = "2025-08-20T09:00:00+08:00"
REAL = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"FILINGFLOW_CLOCK_RATE": "60", "FILINGFLOW_CLOCK_START": START}, "FILINGFLOW_SANDBOX is not 1"),
        ({"FILINGFLOW_CLOCK_RATE": "60", "FILINGFLOW_SANDBOX": "0"}, "FILINGFLOW_SANDBOX is not 1"),
        ({"FILINGFLOW_CLOCK_RATE": "60", "FILINGFLOW_SANDBOX": "1"}, "needs FILINGFLOW_CLOCK_START"),
        ({"FILINGFLOW_CLOCK_RATE": "0", "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}, "greater"),
        ({"FILINGFLOW_CLOCK_RATE": "fast", "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}, "number"),
        ({"FILINGFLOW_CLOCK_RATE": "1e3", "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}, "number"),
        ({"FILINGFLOW_CLOCK_RATE": "inf", "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}, "number"),
        ({"FILINGFLOW_CLOCK_RATE": "2000000", "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}, "less"),
    ],
)
def test_a_clock_rate_is_refused_outside_a_sandbox_or_when_malformed(environ: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match="FILINGFLOW_CLOCK_RATE") as refused:
        Settings.from_env(environ)
    about_rate = [p for p in refused.value.problems if p.startswith("FILINGFLOW_CLOCK_RATE")]
    assert len(about_rate) == 1, refused.value.problems
    assert says in about_rate[0]


def test_a_clock_rate_is_read_in_a_sandbox() -> None:
    settings = Settings.from_env(
        {"FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START, "FILINGFLOW_CLOCK_RATE": "3600"}
    )
    assert settings.clock_rate == 3600.0
    assert Settings.from_env({"FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": START}).clock_rate is None


def test_the_timeline_moves_rate_times_as_fast_as_real_time() -> None:
    real = ManualClock(REAL)
    clock = TimelineClock(datetime.fromisoformat(START), REAL, real, rate=3600)
    assert clock.now() == datetime.fromisoformat(START)
    real.advance(timedelta(seconds=2.5))
    assert clock.now() == datetime.fromisoformat(START) + timedelta(hours=2.5)
    with pytest.raises(ValueError, match="clock rate"):
        TimelineClock(datetime.fromisoformat(START), REAL, real, rate=0)


def test_the_timeline_gives_utc_instants_like_the_real_clock() -> None:
    # the audit trail compares the case row's instants with its snapshot as text: a clock that handed out
    # +08:00 instants (the configured start's offset) broke `filingflow audit verify` (found by bench round)
    clock = TimelineClock(datetime.fromisoformat(START), REAL, ManualClock(REAL), rate=3600)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now().isoformat() == "2025-08-20T01:00:00+00:00"


def test_a_timeline_recorded_to_begin_later_stands_at_its_start_until_then() -> None:
    real = ManualClock(REAL)
    clock = TimelineClock(datetime.fromisoformat(START), REAL + timedelta(seconds=10), real, rate=3600)
    assert clock.now() == datetime.fromisoformat(START)
    real.advance(timedelta(seconds=9))
    assert clock.now() == datetime.fromisoformat(START), "still waiting for its processes"
    real.advance(timedelta(seconds=2))
    assert clock.now() == datetime.fromisoformat(START) + timedelta(hours=1)


def test_processes_share_the_rate_and_another_rate_starts_a_new_timeline(tmp_path: Path) -> None:
    database = create_database_engine(f"sqlite:///{tmp_path / 'rate.db'}")
    real = ManualClock(REAL)
    try:
        first = shared_timeline(database, datetime.fromisoformat(START), real, rate=100)
        real.advance(timedelta(seconds=10))
        second = shared_timeline(database, datetime.fromisoformat(START), real, rate=100)  # a process started later
        assert second.now() == first.now() == datetime.fromisoformat(START) + timedelta(seconds=1000)
        faster = shared_timeline(database, datetime.fromisoformat(START), real, rate=200)
        assert faster.now() == datetime.fromisoformat(START), "a new rate begins a new timeline, now"
        with database.connect() as conn:
            assert conn.execute(sa.select(sandbox_timeline.c.rate)).scalar_one() == "200.0"
    finally:
        database.dispose()


def test_a_sandbox_begun_before_the_rate_existed_runs_at_real_time(tmp_path: Path) -> None:
    database = create_database_engine(f"sqlite:///{tmp_path / 'old.db'}")
    real = ManualClock(REAL)
    try:
        with database.begin() as conn:  # the table as it was before FILINGFLOW_CLOCK_RATE
            conn.exec_driver_sql(
                "CREATE TABLE sandbox_timeline (id INTEGER PRIMARY KEY, clock_start VARCHAR(40) NOT NULL, "
                "real_start VARCHAR(40) NOT NULL)"
            )
            conn.exec_driver_sql(f"INSERT INTO sandbox_timeline VALUES (1, '{START}', '{REAL.isoformat()}')")
        real.advance(timedelta(seconds=30))
        clock = shared_timeline(database, datetime.fromisoformat(START), real)
        assert clock.now() == datetime.fromisoformat(START) + timedelta(seconds=30), "joined, at rate 1"
    finally:
        database.dispose()


def test_serve_runs_the_fast_clock(database_url: str, tmp_path: Path) -> None:
    # a real `filingflow serve` on the shared timeline: two real seconds are two sandbox hours
    env = process_env(database_url, tmp_path / "var", AUDIT_KEY, sandbox="1", clock_start=START, clock_rate="3600")
    with serve_process(env) as served:
        first = datetime.fromisoformat(served.health.json()["now"])
        real_first = time.monotonic()
        time.sleep(2)
        later = datetime.fromisoformat(httpx.get(f"{served.base}/healthz", timeout=5).json()["now"])
        real_elapsed = time.monotonic() - real_first
    output = served.output
    moved = (later - first).total_seconds()
    assert 3600 * 2 <= moved <= 3600 * (real_elapsed + 1), (moved, real_elapsed)
    assert "3600 x real time" in output


# ---- a scheduled timeline: segments appended while the processes run (bench/round.py) -------------------


def test_a_scheduled_timeline_stands_at_each_end_and_jumps_only_forward() -> None:
    real = ManualClock(REAL)
    start = datetime.fromisoformat(START)
    clock = TimelineClock(start, REAL, real, rate=3600, clock_end=start + timedelta(hours=2))
    real.advance(timedelta(seconds=5))
    assert clock.now() == start + timedelta(hours=2), "stands at its end: the next segment is not decided yet"
    months_later = start + timedelta(days=200)
    clock.extend([Segment(months_later, REAL + timedelta(seconds=6), rate=10, clock_end=None)])
    assert clock.now() == start + timedelta(hours=2), "the next segment's real start has not come"
    real.advance(timedelta(seconds=3))
    assert clock.now() == months_later + timedelta(seconds=20)
    assert clock.rate == 10


def test_a_segment_that_would_move_the_clock_back_is_refused() -> None:
    start = datetime.fromisoformat(START)
    clock = TimelineClock(start, REAL, ManualClock(REAL), rate=100, clock_end=start + timedelta(hours=1))
    with pytest.raises(ValueError, match=r"clock_start .* is before the last segment's end"):
        clock.extend([Segment(start + timedelta(minutes=59), REAL + timedelta(seconds=60), rate=100)])
    with pytest.raises(ValueError, match="real_start"):
        clock.extend([Segment(start + timedelta(hours=1), REAL - timedelta(seconds=1), rate=100)])
    clock.extend([Segment(start + timedelta(hours=1), REAL + timedelta(seconds=60), rate=100)])  # runs on: no end
    with pytest.raises(ValueError, match="runs on without an end"):
        clock.extend([Segment(start + timedelta(hours=9), REAL + timedelta(seconds=90), rate=100)])
    with pytest.raises(ValueError, match=r"clock_end .* is before clock_start"):
        Segment(start, REAL, rate=1, clock_end=start - timedelta(seconds=1))
    assert len(clock.segments) == 2, "the refused segments were not appended"


def test_every_process_follows_the_segments_appended_to_a_scheduled_timeline(tmp_path: Path) -> None:
    database = create_database_engine(f"sqlite:///{tmp_path / 'scheduled.db'}")
    real = ManualClock(REAL)
    start = datetime.fromisoformat(START)
    try:
        held = Segment(start, REAL, rate=1, clock_end=start)  # stands at its start while the processes start
        driver = schedule_timeline(database, held, real)
        process = shared_timeline(database, start, real, rate=1)  # a process started on it: joins, follows
        try:
            real.advance(timedelta(seconds=30))
            assert process.now() == start
            later = Segment(start + timedelta(days=1), REAL + timedelta(seconds=31), rate=600, clock_end=None)
            append_segment(database, later)
            driver.extend([later])
            with pytest.raises(ValueError, match="runs on without an end"):
                append_segment(database, Segment(start + timedelta(days=9), REAL + timedelta(seconds=99), rate=1))
            deadline = time.monotonic() + 5
            while len(process.segments) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            real.advance(timedelta(seconds=2))
            assert process.now() == driver.now() == start + timedelta(days=1, minutes=10)
        finally:
            process.close()
        with database.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(sandbox_timeline)).scalar_one() == 2
    finally:
        database.dispose()


def test_serve_follows_a_scheduled_timeline_without_a_restart(database_url: str, tmp_path: Path) -> None:
    # the round simulation's phases are segments appended while `filingflow serve` runs
    database = create_database_engine(database_url)
    start = datetime.fromisoformat(START)
    schedule_timeline(database, Segment(start, SystemClock().now(), rate=1, clock_end=start))
    env = process_env(database_url, tmp_path / "var", AUDIT_KEY, sandbox="1", clock_start=START)
    try:
        with serve_process(env) as served:
            assert datetime.fromisoformat(served.health.json()["now"]) == start, "held at its start"
            jump = start + timedelta(days=30)
            append_segment(database, Segment(jump, SystemClock().now(), rate=3600))
            time.sleep(1.5)
            now = datetime.fromisoformat(httpx.get(f"{served.base}/healthz", timeout=5).json()["now"])
    finally:
        database.dispose()
    output = served.output
    assert jump + timedelta(minutes=30) <= now <= jump + timedelta(hours=3), (now, output[-2000:])
    assert "starts a new timeline" not in output
