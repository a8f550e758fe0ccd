"""Deadlines at their edges: extensions while suspended, promised dates, races with the sweep, failures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from states import longgang_ai_compute_2025 as longgang
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, sh
from workflow.clock import ManualClock
from workflow.definition import Guard
from workflow.engine import Engine
from workflow.process import ProgramCatalog
from workflow.tables import deadlines, notices
from workflow.workdays import YearArrangement


def _count(engine: Engine, kind: str) -> int:
    with engine.database.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(notices.c.kind == kind)).scalar_one())


def test_an_extension_while_suspended_keeps_the_clock_stopped(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # LG-DL-1: SMS Mon 09-22; 23, 24 counted; suspended Thu 09-25 with 3 left; +2 while suspended -> 5 left
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-22 10:00")
    clock.set(sh("2025-09-25 09:00"))
    engine.suspend_deadline(case_id, deadline_id, actor=STAFF, reason="等待税务证明")
    clock.set(sh("2025-10-20 10:00"))
    extended = engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="材料补充", working_days=2)
    assert (extended.status, extended.due_at) == ("suspended", None), "still stopped"
    assert engine.expire_due() == [], "a suspended deadline never expires, extended or not"
    clock.set(sh("2025-10-27 09:00"))  # resumed Mon 10-27: 27, 28, 29, 30, 31 are the 5 days left
    resumed = engine.resume_deadline(case_id, deadline_id, actor=STAFF, reason="证明已出具")
    assert (resumed.status, resumed.due_at) == ("pending", sh("2025-11-01 00:00"))
    assert_invariants(engine, audit_key)


def test_an_extension_to_a_date_is_a_promise_a_calendar_change_keeps(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1 extended to Wed 10-15; a later correction making 10-11 and 10-12 working days would
    # shorten the count, but the applicant was told 10-15
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="窗口停业", to_date=date(2025, 10, 15))
    engine.override_calendar_day(date(2025, 10, 12), working=True, actor=STAFF, reason="更正：周日调休上班")
    (deadline,) = engine.get_case(case_id).deadlines
    assert deadline.due_at == sh("2025-10-16 00:00")


def test_the_sweep_leaves_a_deadline_that_was_extended_after_it_was_listed(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: the sweep lists what is due, then claims each row; an extension in between wins
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    late = sh("2025-10-11 08:00")
    clock.set(late)
    listed = engine._due_deadline_ids(deadlines.c.due_at, late, 10)
    assert listed == [deadline_id]
    engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="窗口停业一天", working_days=1)
    assert engine._expire_one(deadline_id, late) is None
    assert engine.get_case(case_id).state == "awaiting_paper"


@pytest.fixture
def refusing_expiry(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    """Longgang with a rule that refuses the paper deadline's expiry: the sweep cannot ever succeed."""
    base = longgang.build()
    never = Guard("TEST-NEVER", lambda ctx: "held for the test")
    events = tuple(replace(e, guards=(never,)) if e.name == "miss_paper_deadline" else e for e in base.events)
    engine = bootstrap(settings, clock=clock, programs=ProgramCatalog([replace(base, events=events)]))
    yield engine
    engine.database.dispose()


def test_a_deadline_that_can_never_expire_is_marked_failed_and_blocks_nothing(
    refusing_expiry: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    engine = refusing_expiry
    stuck, deadline_id = awaiting_paper(engine, clock, "2025-08-21 10:00")  # due end of 08-27
    clock.set(sh("2025-08-20 09:00"))
    draft = engine.open_case(PROGRAM, applicant=applicant(2), data={}, actor=PLATFORM).id  # window: 09-13 end
    clock.set(sh("2025-09-20 09:00"))
    assert engine.expire_due(limit=1) == [(draft, "online_window")], "the failing row did not block the next"
    with engine.database.connect() as conn:
        status = conn.execute(sa.select(deadlines.c.status).where(deadlines.c.id == deadline_id)).scalar_one()
    assert status == "failed"
    last = engine.history(stuck)[-1]
    assert (last.kind, last.event, last.actor) == ("deadline", "deadline.failed", "filingflow")
    assert "TEST-NEVER" in (last.reason or "")
    assert engine.get_case(stuck).state == "awaiting_paper", "a person decides"
    assert _count(engine, "deadline_failed") == 1, "staff are told by email"
    assert engine.expire_due() == [], "settled: not retried on every sweep"
    assert_invariants(engine, audit_key)


def test_a_rung_already_sent_is_not_sent_again_after_a_recomputation(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # LG-DL-1 crossing into 2027 (estimated): the "2 working days left" rung goes out on 12-31; loading
    # the official 2027 arrangement keeps the last day but recomputes the ladder, which must not resend it
    case_id, _ = awaiting_paper(engine, clock, "2026-12-28 10:00")
    (deadline,) = engine.get_case(case_id).deadlines
    assert (deadline.due_at, deadline.estimated) == (sh("2027-01-06 00:00"), True)
    clock.set(sh("2026-12-31 10:00"))
    assert engine.send_due_reminders() == 1
    sent = _count(engine, "paper_due_soon")
    official = YearArrangement.from_json({"year": 2027, "holidays": {"2027-01-01": "New Year's Day"}})
    (changed,) = engine.load_calendar_year(official, actor=STAFF)
    assert (changed.new_due, changed.estimated) == (sh("2027-01-06 00:00"), False)
    assert engine.send_due_reminders() == 0
    assert _count(engine, "paper_due_soon") == sent, "the rung went out once"
    clock.set(sh("2027-01-05 09:30"))
    assert engine.send_due_reminders() == 1, "the last-day rung still comes"
    clock.advance(timedelta(days=1))
    assert_invariants(engine, audit_key)
