"""The scheduler worker as real processes: it expires what is due, once, even with two of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from scheduler.worker import build_scheduler
from tests.conftest import AUDIT_KEY
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import audit_events, cases, deadlines, worker_heartbeats

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


def _env(database_url: str, clock_start: str) -> dict[str, str]:
    return {
        **os.environ,
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
        "FILINGFLOW_SANDBOX": "1",
        "FILINGFLOW_CLOCK_START": clock_start,
    }


def test_worker_process_expires_a_due_deadline_and_stops_on_sigterm(
    engine: Engine, clock: ManualClock, database_url: str
) -> None:
    # LG-DL-1 enforced by the real `filingflow worker`
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
    clock.set(sh("2025-09-26 10:00"))
    engine.fire(case_id, "approve_on_portal", actor=STAFF)
    worker = subprocess.Popen(
        [FILINGFLOW, "worker", "--interval", "0.5"],
        env=_env(database_url, "2025-10-13T09:00:00+08:00"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while engine.get_case(case_id).state != "abandoned":
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker did not expire the deadline"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "SANDBOX" in output
    last = engine.history(case_id)[-1]
    assert (last.event, last.actor, last.via) == ("miss_paper_deadline", "filingflow", "scheduler")
    with engine.database.connect() as conn:
        beat = conn.execute(sa.select(worker_heartbeats.c.beat_at)).scalar()
    assert beat is not None
    assert beat >= sh("2025-10-13 09:00")


def test_two_workers_process_a_thousand_due_deadlines_exactly_once(engine: Engine, database_url: str) -> None:
    # LG-WIN-1: 1,000 drafts never submitted; two workers race to abandon them at the window's end
    for serial in range(1000):
        engine.open_case(PROGRAM, applicant=applicant(serial), data={}, actor=PLATFORM)
    env = _env(database_url, "2025-09-14T08:00:00+08:00")
    workers = [
        subprocess.Popen(
            [FILINGFLOW, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    counts = sorted(int(out.split("worker tick: ")[1].split()[0]) for out in outputs)
    assert sum(counts) == 1000, outputs
    if database_url.startswith("postgresql"):  # SKIP LOCKED lets both work at once; SQLite takes turns
        assert counts[0] > 0, f"both workers took a share: {counts}"
    with engine.database.connect() as conn:
        per_case = conn.execute(
            sa.select(audit_events.c.case_id, sa.func.count())
            .where(audit_events.c.event == "window_closed")
            .group_by(audit_events.c.case_id)
        ).all()
        states = set(conn.execute(sa.select(cases.c.state)).scalars())
        statuses = dict(conn.execute(sa.select(deadlines.c.status, sa.func.count()).group_by(deadlines.c.status)).all())
    assert statuses == {"expired": 1000}
    assert len(per_case) == 1000
    assert {n for _, n in per_case} == {1}, "no deadline fired twice"
    assert states == {"abandoned"}


def test_a_late_run_is_run_not_dropped(engine: Engine, clock: ManualClock) -> None:
    # APScheduler 3.x's default misfire_grace_time (1 s) silently dropped a job that was 3 s late after a
    # restart here; ours are late by a minute and still run
    engine.open_case(PROGRAM, applicant=applicant(), data={}, actor=PLATFORM)
    clock.set(sh("2025-09-14 00:00:01"))
    scheduler = build_scheduler(engine, interval=3600, background=True)
    scheduler.start(paused=True)
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"deadlines"}
        assert all((j.misfire_grace_time, j.coalesce, j.max_instances) == (None, True, 1) for j in scheduler.get_jobs())
        late = datetime.now(UTC) - timedelta(minutes=1)  # noqa: TID251 - APScheduler's own timeline
        scheduler.modify_job("deadlines", next_run_time=late)
        scheduler.resume()
        deadline = time.monotonic() + 20
        while engine.get_case(1).state != "abandoned":
            assert time.monotonic() < deadline, "the late run was dropped"
            time.sleep(0.05)
    finally:
        scheduler.shutdown()


def test_in_process_scheduler_ticks_on_the_injected_clock(engine: Engine, clock: ManualClock) -> None:
    engine.open_case(PROGRAM, applicant=applicant(), data={}, actor=PLATFORM)
    clock.set(sh("2025-09-14 00:00:01"))
    scheduler = build_scheduler(engine, interval=0.2, background=True)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while engine.get_case(1).state != "abandoned":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
