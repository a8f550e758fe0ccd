"""Reminders falling due together go out a batch to a transaction, and one bad row never holds back the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.bootstrap import bootstrap
from app.settings import Settings
from states import longgang_ai_compute_2025 as longgang
from tests.support.catalogs import without_state
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, applicant, sh
from workflow.clock import ManualClock
from workflow.deadline_commands import REMINDERS_PER_TRANSACTION
from workflow.engine import Engine
from workflow.process import ProgramCatalog
from workflow.tables import deadlines, notices

CLOSING_REMINDER = "2025-09-10 09:00"  # LG-NOTE-1: 3 days before the window closes, for every draft at once


def _reminded_cases(engine: Engine) -> list[int]:
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.case_id).where(notices.c.kind == "window_closing", notices.c.channel == "email")
        )
        return sorted(r.case_id for r in rows)


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    """One entry per transaction committed on the engine's database."""
    seen: list[int] = []

    def count(_connection: sa.Connection) -> None:
        seen.append(1)

    event.listen(engine.database, "commit", count)
    yield seen
    event.remove(engine.database, "commit", count)


def test_a_storm_of_reminders_is_sent_a_batch_to_a_transaction(
    engine: Engine, clock: ManualClock, commits: list[int], audit_key: bytes
) -> None:
    # LG-NOTE-1: the window's reminder falls due for every draft at the same second
    drafts = 2 * REMINDERS_PER_TRANSACTION + 3
    opened = [
        engine.open_case(PROGRAM, applicant=applicant(n), data={}, actor=PLATFORM).id for n in range(1, drafts + 1)
    ]
    clock.set(sh(CLOSING_REMINDER))
    commits.clear()

    assert engine.send_due_reminders() == drafts
    assert len(commits) == 3, "53 reminders are three transactions, not 53"
    assert _reminded_cases(engine) == opened
    assert engine.send_due_reminders() == 0, "each rung is sent once"
    assert_invariants(engine, audit_key)


def test_a_deadline_that_cannot_be_reminded_does_not_hold_back_its_batch(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A case pinned to a definition this process no longer loads fails its reminder; the drafts
    # due at the same second in the same batch are still reminded, and it is retried next tick.
    v1 = longgang.build()
    v2 = without_state(v1, "objection_review", version=2)
    first = bootstrap(settings, clock=clock, programs=ProgramCatalog([v1]))
    stranded = first.open_case(PROGRAM, applicant=applicant(1), data={}, actor=PLATFORM).id
    first.database.dispose()
    both = bootstrap(settings, clock=clock, programs=ProgramCatalog([v1, v2]))
    current = [both.open_case(PROGRAM, applicant=applicant(n), data={}, actor=PLATFORM).id for n in (2, 3)]
    only_v2 = bootstrap(settings, clock=clock, programs=ProgramCatalog([v2]))
    clock.set(sh(CLOSING_REMINDER))
    try:
        with caplog.at_level(logging.ERROR, logger="filingflow.engine"):
            assert only_v2.send_due_reminders() == 2
        assert _reminded_cases(both) == current
        assert [r.getMessage() for r in caplog.records] == [
            f"reminders for deadline {_window_deadline(both, stranded)} failed, will retry"
        ]
        assert both.send_due_reminders() == 1, "the stranded case's reminder goes out once a process loads v1"
        assert _reminded_cases(both) == sorted([stranded, *current])
    finally:
        both.database.dispose()
        only_v2.database.dispose()


def _window_deadline(engine: Engine, case_id: int) -> int:
    with engine.database.connect() as conn:
        return int(conn.execute(sa.select(deadlines.c.id).where(deadlines.c.case_id == case_id)).scalar_one())
