"""Persisted transitions per second on PostgreSQL with 1, 4 and 8 client processes, through the
engine and through raw psycopg doing the same writes (select the case, update it with a version
check, insert an audit row and two outbox rows, commit), on a throwaway local cluster.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import psycopg

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.postgres import find_bindir, start_cluster
from workflow import schema
from workflow.clock import ManualClock
from workflow.database import create_database_engine

CASES_PER_PROCESS = 20


def _engine_worker(url: str, worker: int, ops: int, start: Any) -> float:
    engine = bootstrap(
        Settings(database_url=url, audit_key="bench"), clock=ManualClock(sh("2025-08-20 09:00")), migrate=False
    )
    ids = []
    for i in range(CASES_PER_PROCESS):
        case = engine.open_case(PROGRAM, applicant=applicant(worker * 1000 + i), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        ids.append(case.id)
    start.wait()
    started = time.perf_counter()
    for step in range(ops // CASES_PER_PROCESS):
        for case_id in ids:
            if step % 2 == 0:
                engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": "bench"})
            else:
                engine.fire(case_id, "resubmit", actor=PLATFORM)
    elapsed = time.perf_counter() - started
    engine.database.dispose()
    return elapsed


def _raw_worker(dsn: str, worker: int, ops: int, start: Any) -> float:
    with psycopg.connect(dsn) as conn:
        ids = [worker * 1000 + i for i in range(CASES_PER_PROCESS)]
        with conn.transaction():
            for case_id in ids:
                conn.execute("INSERT INTO raw_cases VALUES (%s, 'online_review', 1, '{}', '0')", (case_id,))
        start.wait()
        started = time.perf_counter()
        for step in range(ops // CASES_PER_PROCESS):
            for case_id in ids:
                with conn.transaction():
                    row = conn.execute("SELECT version FROM raw_cases WHERE id = %s", (case_id,)).fetchone()
                    assert row is not None
                    conn.execute(
                        "UPDATE raw_cases SET state = 'x', version = version + 1, head = 'h' "
                        "WHERE id = %s AND version = %s",
                        (case_id, row[0]),
                    )
                    conn.execute(
                        "INSERT INTO raw_audit (case_id, seq, body) VALUES (%s, %s, '{}')", (case_id, row[0] + 1)
                    )
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO raw_notices (case_id, k) VALUES (%s, %s)",
                            [(case_id, f"{case_id}/{step}/sms"), (case_id, f"{case_id}/{step}/email")],
                        )
        return time.perf_counter() - started


def _run(target: Any, args: tuple[Any, ...], processes: int, ops: int) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            elapsed = pool.starmap(target, [(*args, worker, ops, start) for worker in range(processes)])
    return round(processes * ops / max(elapsed), 1)


def run(quick: bool) -> dict[str, Any]:
    bindir = find_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL binaries"}
    ops = 100 if quick else 400
    levels = (1, 4) if quick else (1, 4, 8)
    cluster = start_cluster(bindir)
    results: dict[str, Any] = {"ops_per_process": ops, "levels": {}, "note": "throwaway cluster, fsync off"}
    try:
        for level in levels:
            db = f"bench_{level}"
            cluster.execute(f"CREATE DATABASE {db}")
            url = cluster.url(db)
            schema.upgrade(create_database_engine(url))
            engine_rate = _run(_engine_worker, (url,), level, ops)
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "CREATE TABLE raw_cases (id int primary key, state text, version int, data text, head text)"
                )
                conn.execute("CREATE TABLE raw_audit (id serial primary key, case_id int, seq int, body text)")
                conn.execute("CREATE TABLE raw_notices (id serial primary key, case_id int, k text unique)")
            raw_rate = _run(_raw_worker, (dsn,), level, ops)
            results["levels"][str(level)] = {
                "engine_per_s": engine_rate,
                "raw_per_s": raw_rate,
                "ratio_raw_over_engine": round(raw_rate / engine_rate, 2),
            }
    finally:
        cluster.stop()
    return results
