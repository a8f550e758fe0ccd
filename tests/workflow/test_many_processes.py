"""Many processes, one database: no lost update, every chain whole (issue: PostgreSQL store)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import sqlalchemy as sa

from tests.conftest import AUDIT_KEY
from tests.support import workers
from tests.support.invariants import assert_invariants
from workflow.engine import Engine
from workflow.tables import audit_events, cases

PROCESSES = 8
CASES_PER_PROCESS = 10
ROUNDS = 23  # 10 opens + 10 submits + 23 x 10 fires = 250 commands per process, 2,000 in all


def test_eight_processes_two_thousand_commands(engine: Engine, database_url: str, audit_key: bytes) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(PROCESSES)
        with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
            futures = [
                pool.submit(
                    workers.busy_applicant,
                    database_url,
                    AUDIT_KEY,
                    engine.clock.now().isoformat(),
                    worker,
                    CASES_PER_PROCESS,
                    ROUNDS,
                    start,
                )
                for worker in range(PROCESSES)
            ]
            done = [f.result(timeout=300) for f in futures]
    assert sum(done) == 2000
    with engine.database.connect() as conn:
        versions = conn.execute(sa.select(cases.c.version)).scalars().all()
        total_events = conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar()
    assert len(versions) == PROCESSES * CASES_PER_PROCESS
    assert set(versions) == {2 + ROUNDS}, "no lost update: every case saw every one of its commands"
    assert total_events == 2000
    assert_invariants(engine, audit_key)
