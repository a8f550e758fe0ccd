"""Persisted transitions per second on PostgreSQL with 1, 4 and 8 client processes, through the
engine and through raw psycopg doing the same writes, on a throwaway local cluster.

The workload is bench/transition_sqlite.py's: ONE migrated database per level (1,000 cases
with their history, a webhook subscription), each process walking its own submitted cases from
online review to funded (two of ten commands open a deadline, two close one, nine queue
notices), the raw processes on their own cases in the same tables issuing the same
statements (:class:`~bench.transition_sqlite.RawWriter`). The walk runs in two halves, each
timed for the engine and then for raw, so a busy neighbour on the machine hits both; the
rate is commands over the slowest process's time. Every process first walks a few cases of
its own through the same steps, untimed, so both sides are measured warm (statements
compiled and prepared, as in a server that has been running). Both sides must end with the
same rows.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Sequence
from typing import Any

import psycopg

from app.bootstrap import bootstrap
from app.settings import Settings
from bench.transition_sqlite import AUDIT_KEY, NOW, WALK, RawWriter, fire_step, prepare, written_rows
from states.registry import catalog
from tests.support.longgang import PROGRAM
from tests.support.postgres import find_bindir, start_cluster
from workflow.clock import ManualClock

DATABASE_CASES = 1_000
WARM = 5  # cases each process walks untimed first (psycopg prepares a statement on its 5th run)
HALVES = (range(0, len(WALK) // 2), range(len(WALK) // 2, len(WALK)))


def _engine_worker(url: str, ids: Sequence[int], steps: range, start: Any) -> float:
    engine = bootstrap(Settings(database_url=url, audit_key=AUDIT_KEY), clock=ManualClock(NOW), migrate=False)
    for step in steps:
        for case_id in ids[:WARM]:
            fire_step(engine, case_id, step)
    start.wait()
    started = time.perf_counter()
    for step in steps:
        for case_id in ids[WARM:]:
            fire_step(engine, case_id, step)
    elapsed = time.perf_counter() - started
    engine.database.dispose()
    return elapsed


def _raw_worker(dsn: str, ids: Sequence[int], steps: range, start: Any) -> float:
    writer = RawWriter(catalog().get(PROGRAM), mark="%s", instant=lambda value: value)
    with psycopg.connect(dsn) as conn:
        for timed in (False, True):
            if timed:
                start.wait()
                started = time.perf_counter()
            for step in steps:
                for case_id in ids[WARM:] if timed else ids[:WARM]:
                    with conn.transaction(), conn.cursor() as cursor:
                        writer.write(cursor, case_id, step)
        return time.perf_counter() - started


def _timed(target: Any, where: str, sets: Sequence[Sequence[int]], steps: range) -> float:
    """Seconds the slowest of ``len(sets)`` processes took for ``steps``, all released at once."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(len(sets))
        with context.Pool(len(sets)) as pool:
            elapsed = pool.starmap(target, [(where, ids, steps, start) for ids in sets])
    return max(elapsed)


def run(quick: bool) -> dict[str, Any]:
    bindir = find_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL binaries"}
    per_process = 10 if quick else 30  # cases each process walks
    levels = (1, 4) if quick else (1, 4, 8)
    cluster = start_cluster(bindir)
    results: dict[str, Any] = {
        "commands_per_process": per_process * len(WALK),
        "database_cases": DATABASE_CASES,
        "walk": [name for name, _, _ in WALK],
        "levels": {},
        "note": "throwaway cluster, fsync off (both sides); 2 cores shared by client and server",
    }
    try:
        for level in levels:
            db = f"bench_{level}"
            cluster.execute(f"CREATE DATABASE {db}")
            url = cluster.url(db)
            engine, sets = prepare(
                url,
                background=DATABASE_CASES - 2 * level * (per_process + WARM),
                sets=(per_process + WARM,) * (2 * level),
            )
            engine.database.dispose()
            engine_sets, raw_sets = sets[:level], sets[level:]
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            engine_s = raw_s = 0.0
            for steps in HALVES:
                engine_s += _timed(_engine_worker, url, engine_sets, steps)
                raw_s += _timed(_raw_worker, dsn, raw_sets, steps)
            commands = level * per_process * len(WALK)
            engine_rows = written_rows(engine.database, [i for ids in engine_sets for i in ids])
            raw_rows = written_rows(engine.database, [i for ids in raw_sets for i in ids])
            engine.database.dispose()
            if engine_rows != raw_rows:
                raise AssertionError(f"raw wrote {raw_rows}, the engine {engine_rows}: not the same writes")
            results["levels"][str(level)] = {
                "engine_per_s": round(commands / engine_s, 1),
                "raw_per_s": round(commands / raw_s, 1),
                "ratio_raw_over_engine": round(engine_s / raw_s, 2),
                "rows": engine_rows,
            }
    finally:
        cluster.stop()
    return results
