"""Invariant 2 under real concurrency: 20 processes fire the same event on one case."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import sqlalchemy as sa

from tests.conftest import AUDIT_KEY
from tests.support import workers
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow.engine import Engine
from workflow.tables import audit_events, cases, deadlines, notices

PROCESSES = 20


def test_same_event_from_twenty_processes_has_one_winner(engine: Engine, database_url: str, audit_key: bytes) -> None:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    engine.fire(case.id, "pass_online_review", actor=STAFF)
    case = engine.fire(case.id, "file_on_portal", actor=PLATFORM)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(PROCESSES)  # all twenty fire together
        with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
            futures = [
                pool.submit(
                    workers.fire_once,
                    database_url,
                    AUDIT_KEY,
                    engine.clock.now().isoformat(),
                    case.id,
                    "approve_on_portal",  # LG-DL-1: the winner opens the paper deadline, the losers nothing
                    case.version,
                    start,
                )
                for _ in range(PROCESSES)
            ]
            outcomes = sorted(f.result(timeout=120) for f in futures)
    assert outcomes == ["conflict"] * (PROCESSES - 1) + ["ok"], outcomes
    assert engine.get_case(case.id).state == "awaiting_paper"
    with engine.database.connect() as conn:
        events = conn.execute(
            sa.select(sa.func.count()).where(
                audit_events.c.case_id == case.id, audit_events.c.event == "approve_on_portal"
            )
        ).scalar()
        queued = conn.execute(
            sa.select(notices.c.channel).where(notices.c.case_id == case.id, notices.c.kind == "portal_approved")
        ).scalars()
        opened = conn.execute(
            sa.select(sa.func.count()).where(deadlines.c.case_id == case.id, deadlines.c.key == "paper_delivery")
        ).scalar()
    assert (events, sorted(queued), opened) == (1, ["email", "sms"], 1), "one audit event, one set of notices"
    assert_invariants(engine, audit_key)


def test_racing_duplicate_filings_leave_one_live_case(engine: Engine, database_url: str) -> None:
    # LG-ELIG-2 under concurrency: the unique live-case key, not only the check, refuses the rest
    context = multiprocessing.get_context("spawn")
    racers = 6
    with context.Manager() as manager:
        start = manager.Barrier(racers)
        with ProcessPoolExecutor(racers, mp_context=context) as pool:
            futures = [
                pool.submit(workers.open_for, database_url, AUDIT_KEY, engine.clock.now().isoformat(), 42, start)
                for _ in range(racers)
            ]
            outcomes = sorted(f.result(timeout=120) for f in futures)
    assert outcomes == ["ok"] + ["refused LG-ELIG-2"] * (racers - 1), outcomes
    with engine.database.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == 1
