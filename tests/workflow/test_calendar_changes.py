"""The calendar kept in the database: estimated years, loaded arrangements, staff closures, recomputation."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.support.invariants import assert_invariants
from tests.support.longgang import APPLICANT, PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import NotPermitted
from workflow.tables import notices
from workflow.workdays import YearArrangement

ARRANGEMENT_2027 = YearArrangement.from_json(
    {
        "year": 2027,
        "holidays": {"2027-01-01": "New Year's Day", "2027-01-04": "New Year's Day"},
        "workdays": {"2027-01-09": "New Year's Day"},
    }
)


def _paper_case_late_2026(engine: Engine, clock: ManualClock) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    clock.set(sh("2026-12-28 10:00"))
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="补录：门户网站已于今日审核通过")
    return case_id


def _moved_notices(engine: Engine) -> int:
    with engine.database.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(notices.c.kind == "deadline_moved")).scalar_one())


def test_deadline_into_an_unknown_year_is_estimated_then_recomputed(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # LG-DL-1 crossing into 2027, whose arrangement is published later
    case_id = _paper_case_late_2026(engine, clock)
    (deadline,) = engine.get_case(case_id).deadlines
    assert deadline.estimated is True
    assert deadline.due_at == sh("2027-01-06 00:00")  # 29, 30, 31, Mon Jan 4, Tue Jan 5 (estimated)
    explained = engine.explain_deadlines(case_id)[-1].lines
    assert explained[-1].startswith("estimated:")
    changed = engine.load_calendar_year(ARRANGEMENT_2027, actor=STAFF)
    assert [(c.case_id, c.deadline, c.new_due, c.estimated) for c in changed] == [
        (case_id, "paper_delivery", sh("2027-01-07 00:00"), False)
    ]
    (deadline,) = engine.get_case(case_id).deadlines
    assert (deadline.due_at, deadline.estimated) == (sh("2027-01-07 00:00"), False)
    last = engine.history(case_id)[-1]
    assert (last.event, last.role) == ("deadline.recompute", "staff")
    assert "2027" in (last.reason or "")
    assert _moved_notices(engine) == 2, "the applicant is told (sms and email) because the date moved"
    assert engine.load_calendar_year(ARRANGEMENT_2027, actor=STAFF) == [], "loading it again moves nothing"
    assert_invariants(engine, audit_key)


def test_a_typhoon_closure_moves_open_deadlines(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    clock.set(sh("2025-09-15 10:00"))
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="补录")
    assert engine.get_case(case_id).deadlines[0].due_at == sh("2025-09-23 00:00")
    changed = engine.override_calendar_day(date(2025, 9, 17), working=False, actor=STAFF, reason="台风红色预警停工")
    assert [c.new_due for c in changed] == [sh("2025-09-24 00:00")]
    assert not engine.calendar.is_working_day(date(2025, 9, 17))
    lines = engine.explain_deadlines(case_id)[-1].lines
    assert "2025-09-17 staff override (closure): 台风红色预警停工 (skipped)" in lines
    assert _moved_notices(engine) == 2
    assert_invariants(engine, audit_key)


def test_calendar_changes_are_staff_only(engine: Engine) -> None:
    with pytest.raises(NotPermitted):
        engine.override_calendar_day(date(2025, 9, 17), working=False, actor=APPLICANT, reason="x")
    with pytest.raises(NotPermitted):
        engine.load_calendar_year(ARRANGEMENT_2027, actor=PLATFORM)


def test_a_restarted_engine_reads_the_calendar_from_the_database(
    engine: Engine, settings: object, clock: ManualClock
) -> None:
    from app.bootstrap import bootstrap

    engine.load_calendar_year(ARRANGEMENT_2027, actor=STAFF)
    engine.override_calendar_day(date(2025, 9, 17), working=False, actor=STAFF, reason="台风")
    fresh = bootstrap(settings, clock=clock)  # type: ignore[arg-type]
    try:
        assert fresh.calendar.knows(2027)
        assert not fresh.calendar.is_working_day(date(2027, 1, 4))
        assert not fresh.calendar.is_working_day(date(2025, 9, 17))
    finally:
        fresh.database.dispose()
