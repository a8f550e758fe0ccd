"""10,000 deadlines fell due while the scheduler was down (RELIABILITY.md test 5, at the size issue 16 asks).

The whole round (bench/round.py) stops both workers across the window's last reminder, which at
10,000 applicants leaves about 5,000 rows due. Here the size is set directly: 10,000 Longgang
cases awaiting paper, each with its paper-delivery deadline (LG-DL-1) a day overdue, as if no
worker had run; then two real ``filingflow worker`` processes start together on PostgreSQL, and
one of them is SIGKILLed when a third of the rows are done and started again a second later.

Checked at the end (the round's own checks, bench/round_checks.py): every deadline expired and
fired its event exactly once (its ``miss_paper_deadline`` audit event, one per case), none
pending or failed, every trail verifies (``filingflow audit verify``) and the database
invariants hold. Reported: seconds from the workers' start until nothing is due, expiries a
second, and when the kill came.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.sandbox import Segment, schedule_timeline
from app.settings import Settings
from bench.round_checks import audit_cli, deadlines_once, whole_database
from bench.round_fleet import AUDIT_KEY, FILINGFLOW, Fleet, Process, open_database
from bench.sweep import NOW, deadline_rows, insert_case
from workflow.clock import ManualClock, SystemClock
from workflow.database import create_database_engine
from workflow.tables import cases, deadlines

OVERDUE = NOW - timedelta(days=1)
KILL_AT = 1 / 3  # of the rows done, worker 1 is SIGKILLed
LIMIT_S = 1800.0


def _seed(url: str, count: int) -> None:
    database = create_database_engine(url)
    try:
        for start in range(0, count, 1000):
            with database.begin() as conn:
                for n in range(start, min(start + 1000, count)):
                    # an applicant each: one applicant's cases would take turns on its cap group's lock
                    case_id = insert_case(conn, applicant_code=f"BENCH{n:06d}")
                    rows = deadline_rows(case_id, 1, due=OVERDUE + timedelta(seconds=n % 3600))
                    conn.execute(sa.insert(deadlines), rows)
    finally:
        database.dispose()


def _due(database: sa.Engine) -> int:
    with database.connect() as conn:
        query = sa.select(sa.func.count()).where(deadlines.c.status == "pending", deadlines.c.due_at <= NOW)
        return int(conn.execute(query).scalar_one())


def run(quick: bool) -> dict[str, Any]:
    count = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fleet = Fleet(folder, open_database("postgresql", folder))
        try:
            return _run(fleet, count)
        finally:
            fleet.close()


def _run(fleet: Fleet, count: int) -> dict[str, Any]:
    (fleet.folder / "var").mkdir(parents=True, exist_ok=True)
    (fleet.folder / "logs").mkdir(exist_ok=True)
    fleet.smtp.start()  # a worker also sends what is due: the abandonment notices go somewhere real
    fleet.sms.start()
    upgraded = fleet.cli("db", "upgrade")
    if upgraded.returncode:
        raise RuntimeError(f"db upgrade failed: {upgraded.stderr}")
    _seed(fleet.database.url, count)
    database = create_database_engine(fleet.database.url)
    try:
        schedule_timeline(database, Segment(NOW, SystemClock().now(), 1.0, NOW))  # the clock stands at NOW
        fleet.clock_start = NOW
        for n in (1, 2):
            log = fleet.folder / "logs" / f"worker{n}.log"
            fleet.processes[f"worker{n}"] = Process(f"worker{n}", [FILINGFLOW, "worker"], log)
        began = time.monotonic()
        for process in fleet.processes.values():
            process.start(fleet.env())
        killed_after = None
        while (left := _due(database)) and time.monotonic() - began < LIMIT_S:
            if killed_after is None and left <= count * (1 - KILL_AT):
                killed_after = round(time.monotonic() - began, 1)
                fleet.processes["worker1"].kill()
                time.sleep(1.0)
                fleet.restart("worker1")
            time.sleep(0.2)
        drained = round(time.monotonic() - began, 1)
        fleet.stop_all()
        with database.connect() as conn:
            states = dict(conn.execute(sa.select(cases.c.state, sa.func.count()).group_by(cases.c.state)).all())
    finally:
        database.dispose()
    engine = bootstrap(Settings(database_url=fleet.database.url, audit_key=AUDIT_KEY), clock=ManualClock(NOW))
    try:
        breaches = [*deadlines_once(fleet.database.url, NOW), *audit_cli(fleet), *whole_database(engine)]
    finally:
        engine.database.dispose()
    if left:
        breaches.append(f"{left} deadlines still due after {LIMIT_S:.0f} s")
    if states != {"abandoned": count}:
        breaches.append(f"case states {states}, expected all {count} abandoned (LG-DL-1)")
    result = {
        "due_at_start": count,
        "workers": 2,
        "worker1_killed_after_s": killed_after,
        "drained_s": drained,
        "expiries_per_s": round(count / drained) if drained else None,
        "breaches": breaches,
    }
    if breaches:
        raise RuntimeError(f"catch-up breached its promise: {breaches[:5]}")
    return result
