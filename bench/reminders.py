"""A reminder storm: every draft's window reminder (LG-NOTE-1, 3 days before the close) falls due at
one second, and ``send_due_reminders`` queues them all; reminders batched
``REMINDERS_PER_TRANSACTION`` to a transaction against the baseline of one transaction each (the
code before batching), on SQLite and PostgreSQL, alternated in the same run.

Each side gets its own fresh database holding the same drafts. Reported per side: wall time, this
process's CPU time (``time.process_time``: the engine and, on SQLite, the database; not a
PostgreSQL server's), reminders a second, and the ratio of batched to baseline.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PLATFORM, PROGRAM, applicant, sh
from tests.support.postgres import find_bindir, start_cluster
from workflow.clock import ManualClock
from workflow.deadline_commands import REMINDERS_PER_TRANSACTION

OPENED = sh("2025-08-20 09:00")
DUE = sh("2025-09-10 09:00")  # LG-NOTE-1: 3 days before the window closes


def _storm(url: str, drafts: int, per_transaction: int) -> dict[str, float]:
    clock = ManualClock(OPENED)
    engine = bootstrap(Settings(database_url=url, audit_key="bench"), clock=clock, migrate=True)
    try:
        for serial in range(1, drafts + 1):
            engine.open_case(PROGRAM, applicant=applicant(serial), data={}, actor=PLATFORM)
        clock.set(DUE)
        wall, cpu = time.perf_counter(), time.process_time()
        sent = engine.deadline_commands.send_due_reminders(limit=drafts, per_transaction=per_transaction)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert sent == drafts, f"{sent} reminders sent for {drafts} drafts"
        return {"wall_s": wall, "cpu_s": cpu}
    finally:
        engine.database.dispose()


def _compare(urls: Any, drafts: int, rounds: int) -> dict[str, Any]:
    """``urls()`` gives a fresh database URL per call; the sides alternate, ``rounds`` times each."""
    sides: dict[str, list[dict[str, float]]] = {"baseline": [], "batched": []}
    for _ in range(rounds):
        sides["baseline"].append(_storm(urls(), drafts, 1))
        sides["batched"].append(_storm(urls(), drafts, REMINDERS_PER_TRANSACTION))
    out: dict[str, Any] = {}
    for side, runs in sides.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        cpu = statistics.median(r["cpu_s"] for r in runs)
        out[side] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "per_s": round(drafts / wall)}
    out["wall_ratio"] = round(out["batched"]["wall_s"] / out["baseline"]["wall_s"], 2)
    out["cpu_ratio"] = round(out["batched"]["cpu_s"] / out["baseline"]["cpu_s"], 2)
    return out


def run(quick: bool) -> dict[str, Any]:
    drafts, rounds = (300, 1) if quick else (1000, 3)
    results: dict[str, Any] = {"drafts": drafts, "per_transaction": REMINDERS_PER_TRANSACTION, "rounds": rounds}
    with tempfile.TemporaryDirectory() as tmp:
        files = iter(range(1_000))
        results["sqlite"] = _compare(lambda: f"sqlite:///{Path(tmp) / f'storm{next(files)}.db'}", drafts, rounds)
    bindir = find_bindir()
    if bindir is None:
        results["postgresql"] = "skipped: no PostgreSQL binaries"
        return results
    cluster = start_cluster(bindir)
    try:
        names = iter(range(1_000))

        def fresh() -> str:
            name = f"storm{next(names)}"
            cluster.execute(f"CREATE DATABASE {name}")
            return cluster.url(name)

        results["postgresql"] = _compare(fresh, drafts, rounds)
    finally:
        cluster.stop()
    return results
