"""A whole round under load and faults, small (issue 16, item 1): ``python -m bench round`` at 40 applicants.

Real processes (2 ``filingflow serve``, 2 ``filingflow worker``, a dispatcher), started once; real
SMTP and the fake SMS gateway on loopback; the sandbox clock paced by what the fleet keeps up
with (bench/round_pacer.py); PostgreSQL (when its binaries are installed, with its restart fault)
or SQLite. The run itself checks every invariant and raises on any breach; this test also checks
that it measured what it reports, and the pacer on its own.
"""

from __future__ import annotations

import importlib.util
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.sandbox import Segment, schedule_timeline
from app.settings import Settings
from bench.round import run
from bench.round_driver import Driver
from bench.round_pacer import JUMP_OVER, TOP_RATE, Pacer
from bench.round_workload import LG_SURGE, longgang, surge_share
from tests.conftest import AUDIT_KEY
from tests.support.postgres import find_bindir
from workflow.clock import ManualClock, SystemClock


def test_the_workload_has_the_shape_of_a_filing_window() -> None:
    # LG-WIN-1: about half of all submissions in the window's last 8 hours, a few drafts never submitted
    filers = longgang(2000, seed=16)
    assert 0.45 <= surge_share(filers) <= 0.55
    assert 0.01 <= sum(f.submits_at is None for f in filers) / len(filers) <= 0.05
    assert longgang(50, seed=16) == longgang(50, seed=16), "a seed replays the same round"


def test_the_pacer_holds_the_clock_while_the_fleet_is_behind_and_slows_it_for_the_surge(tmp_path: Path) -> None:
    # the surge (LG-WIN-1's last 8 hours) at what the fleet sustains: a fixed rate ran it a month late
    real = ManualClock(SystemClock().now())
    url = f"sqlite:///{tmp_path / 'pace.db'}"
    engine = bootstrap(Settings(database_url=url, audit_key=AUDIT_KEY), clock=real, migrate=True)
    start = LG_SURGE - timedelta(hours=3)
    clock = schedule_timeline(engine.database, Segment(start, real.now(), 1.0, start), real)
    driver = Driver(["http://127.0.0.1:9"], {}, threads=4)
    driver.clock = clock
    pacer = Pacer(url, clock, driver, pace=60.0, real=real)
    try:
        gate = threading.Event()
        for n in range(200):  # 200 actions under way: more than a slice of work at 60 a second
            driver.at(start, f"busy{n}", gate.wait)
        runner = threading.Thread(target=driver.run_until, args=(start,))
        runner.start()
        while driver.outstanding < 200:
            gate.wait(0.01)
        real.advance(timedelta(seconds=2))
        pacer(LG_SURGE + timedelta(hours=8))
        assert len(clock.segments) == 1, "no slice appended: the fleet is behind"
        assert clock.now() == start
        assert pacer.pace == 30.0, "halfway to the 0 actions a second the fleet finished meanwhile"
        gate.set()
        runner.join()
        for n in range(600):  # the surge: 600 submissions over 8 hours, one every 48 s
            driver.at(LG_SURGE + timedelta(seconds=48 * n), f"filer{n}", lambda: None)
        pacer(LG_SURGE + timedelta(hours=8))
        surge = clock.segments[-1]
        assert surge.clock_start == LG_SURGE, "the quiet 3 hours before it, with nothing due, jumped over"
        assert pacer.jumps == 1
        assert LG_SURGE - start > JUMP_OVER
        wanted = int(pacer.pace)  # a slice is a real second: as many actions as the pace, no more
        assert surge.rate == pytest.approx(48 * (wanted - 1))
        assert surge.rate < TOP_RATE / 10
        with pytest.raises(ValueError, match="never runs backwards"):
            clock.extend([Segment(start, real.now() + timedelta(seconds=5), 1.0, None)])
    finally:
        pacer.close()
        driver.close()
        engine.database.dispose()


def test_a_small_round_keeps_every_invariant_through_the_faults(tmp_path: Path) -> None:
    # LG-WIN-1, LG-DL-1, LG-AMT-2, SZ-AMT-2 and the publicity deadlines, swept by the workers while
    # workers and the dispatcher are SIGKILLed, SMTP goes down and PostgreSQL restarts; LG-NOTE-1's window
    # reminders as the deadline storm and as the rows due while the scheduler is down
    database = "postgresql" if find_bindir() else "sqlite"
    result = run(
        False, applicants=40, database=database, probe_seconds=3.0, top_rate=100_000, chart_path=tmp_path / "round.png"
    )
    assert result["breaches"] == []
    figures = result["figures"]
    assert figures["surge_commands"] > 0
    assert figures["surge_p99_ms"] >= figures["surge_p50_ms"] > 0
    kinds = {fault["fault"] for fault in figures["faults"]}
    assert {"kill worker1", "kill worker2", "kill dispatcher", "smtp"} <= kinds
    if database == "postgresql":
        assert "postgres" in kinds
    assert all(fault["error"] is None for fault in figures["faults"])
    storm, down = result["promises"]["storm"], result["promises"]["scheduler_down"]
    assert storm["due_in_one_second"] > 10
    assert storm["drained_s"] is not None
    assert storm["baseline_requests"] > 0
    assert storm["storm_requests"] > 0
    assert storm["ratio"] > 0
    assert down["due_rows_at_restart"] > 10
    assert down["fired"] == down["due_rows_at_restart"]
    assert result["pace"]["jumps"] > 0, "quiet weeks jumped over"
    states = figures["states"]
    lg = states["longgang-ai-compute-2025"]
    assert sum(lg.values()) == 40, "every applicant opened its case: the driver kept to the window"
    assert lg.get("funded", 0) > 0
    assert lg.get("abandoned", 0) > 0, "drafts and missed paper: swept"
    assert sum(states["shenzhen-training-voucher-2024"].values()) > 0
    assert result["notices"]["emails_received"] > 0
    assert result["notices"]["sms_received"] > 0
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed: the round ran and held; no chart to check")
    assert (tmp_path / "round.png").stat().st_size > 10_000
