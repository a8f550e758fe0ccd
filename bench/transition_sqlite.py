"""One persisted Longgang transition on SQLite through the engine, against raw sqlite3 doing the same writes.

Both run in WAL mode with ``synchronous=FULL`` and ``BEGIN IMMEDIATE`` (the engine's
settings, see workflow/database.py). The engine alternates ``return_for_correction`` and
``resubmit`` on submitted cases; the raw loop selects the case, updates it with a version
check, inserts an audit row and two outbox rows, and commits. Measured with 1,000 and
100,000 cases in the database to show the cost does not grow with the number of cases.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.tables import cases


def _seed_bulk(engine: Any, count: int) -> None:
    now = engine.clock.now()
    rows = [
        {
            "program_key": PROGRAM,
            "program_version": 1,
            "state": "online_review",
            "final": False,
            "version": 1,
            "applicant_name": f"bulk {i}",
            "applicant_code": f"BULK{i:014d}",
            "data": {},
            "chain_head": "0" * 64,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with engine.database.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(cases), rows[start : start + 5000])


def _engine_ms(folder: Path, total_cases: int, ops: int) -> list[float]:
    engine = bootstrap(
        Settings(database_url=f"sqlite:///{folder / 'engine.db'}", audit_key="bench"),
        clock=ManualClock(sh("2025-08-20 09:00")),
    )
    _seed_bulk(engine, max(total_cases - 50, 0))
    ids = []
    for serial in range(50):
        case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        ids.append(case.id)
    times = []
    for step in range(ops // len(ids)):
        for case_id in ids:
            event, actor, payload = (
                ("return_for_correction", STAFF, {"reason": "bench"}) if step % 2 == 0 else ("resubmit", PLATFORM, {})
            )
            started = time.perf_counter()
            engine.fire(case_id, event, actor=actor, payload=payload)
            times.append((time.perf_counter() - started) * 1000)
    engine.database.dispose()
    return times


def _raw_ms(folder: Path, total_cases: int, ops: int) -> list[float]:
    con = sqlite3.connect(folder / "raw.db", isolation_level=None)
    for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"):
        con.execute(pragma)
    con.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, state TEXT, version INT, data TEXT, head TEXT)")
    con.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, case_id INT, seq INT, body TEXT, h TEXT)")
    con.execute("CREATE TABLE n (id INTEGER PRIMARY KEY, case_id INT, k TEXT UNIQUE, body TEXT)")
    con.executemany("INSERT INTO c VALUES (?, 'online_review', 1, '{}', '0')", ((i,) for i in range(total_cases)))
    times = []
    for step in range(ops // 50):
        for case_id in range(50):
            started = time.perf_counter()
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT * FROM c WHERE id = ?", (case_id,)).fetchone()
            con.execute(
                "UPDATE c SET state = 'x', version = version + 1, head = 'h' WHERE id = ? AND version = ?",
                (case_id, row[2]),
            )
            con.execute("INSERT INTO a (case_id, seq, body, h) VALUES (?, ?, ?, ?)", (case_id, row[2] + 1, "{}", "h"))
            con.executemany(
                "INSERT INTO n (case_id, k, body) VALUES (?, ?, '{}')",
                ((case_id, f"{case_id}/{step}/sms"), (case_id, f"{case_id}/{step}/email")),
            )
            con.execute("COMMIT")
            times.append((time.perf_counter() - started) * 1000)
    con.close()
    return times


def run(quick: bool) -> dict[str, Any]:
    ops = 200 if quick else 1000
    sizes = (1_000,) if quick else (1_000, 100_000)
    results: dict[str, Any] = {"synchronous": "FULL", "journal": "WAL", "ops": ops, "sizes": {}}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            engine_times = _engine_ms(Path(tmp), size, ops)
            raw_times = _raw_ms(Path(tmp), size, ops)
        engine_median, raw_median = statistics.median(engine_times), statistics.median(raw_times)
        results["sizes"][str(size)] = {
            "engine_median_ms": round(engine_median, 3),
            "engine_p95_ms": round(statistics.quantiles(engine_times, n=20)[18], 3),
            "raw_median_ms": round(raw_median, 3),
            "raw_p95_ms": round(statistics.quantiles(raw_times, n=20)[18], 3),
            "ratio": round(engine_median / raw_median, 2),
        }
    return results
