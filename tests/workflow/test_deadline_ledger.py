"""Deadlines as a budget with a ledger: extend, suspend, resume, explain (LG-DL-1 across holidays)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import APPLICANT, PLATFORM, STAFF, awaiting_paper, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import DeadlineNotFound, InvalidInput, NotPermitted
from workflow.tables import notices


def _awaiting_paper(engine: Engine, clock: ManualClock, when: str = "2025-09-26 10:00") -> tuple[int, int]:
    return awaiting_paper(engine, clock, when)


def _notice_kinds(engine: Engine, case_id: int) -> list[str]:
    with engine.database.connect() as conn:
        return list(
            conn.execute(sa.select(notices.c.kind).where(notices.c.case_id == case_id).order_by(notices.c.id)).scalars()
        )


def test_extension_by_working_days_is_audited_and_told(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # LG-DL-1 extended by staff: +2 working days from Fri 10-10 -> Sat 10-11 (make-up day) and Mon 10-13
    case_id, deadline_id = _awaiting_paper(engine, clock)
    view = engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="企业申请延期，材料在途", working_days=2)
    assert view.due_at == sh("2025-10-14 00:00")
    assert view.ledger[-1]["kind"] == "extend"
    last = engine.history(case_id)[-1]
    assert (last.kind, last.event, last.reason) == ("deadline", "deadline.extend", "企业申请延期，材料在途")
    assert datetime.fromisoformat(last.old_values["due_at"]) == sh("2025-10-11 00:00")
    assert _notice_kinds(engine, case_id)[-2:] == ["deadline_extended", "deadline_extended"]
    assert engine.get_case(case_id).version == 6
    assert_invariants(engine, audit_key)


def test_extension_to_a_date(engine: Engine, clock: ManualClock) -> None:
    case_id, deadline_id = _awaiting_paper(engine, clock)
    view = engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="窗口停业", to_date=date(2025, 10, 15))
    assert view.due_at == sh("2025-10-16 00:00")
    assert view.ledger[-1]["to_date"] == "2025-10-15"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to_date": date(2025, 10, 12)}, "to_date"),  # a Sunday
        ({"to_date": date(2025, 10, 9)}, "to_date"),  # before the current last day
        ({"working_days": 0}, "working_days"),
        ({"working_days": 61}, "working_days"),
        ({"to_date": date(2026, 1, 30)}, "to_date"),  # more than 60 working days away
        ({"to_date": date(9999, 12, 31)}, "to_date"),  # refused before any calendar walk
        ({}, "working_days"),
        ({"working_days": 1, "to_date": date(2025, 10, 15)}, "working_days"),
    ],
)
def test_bad_extensions_are_refused(engine: Engine, clock: ManualClock, kwargs: dict[str, object], field: str) -> None:
    case_id, deadline_id = _awaiting_paper(engine, clock)
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="x", **kwargs)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert database_image(engine) == before


def test_extension_by_a_non_staff_actor_or_without_reason_is_refused(engine: Engine, clock: ManualClock) -> None:
    case_id, deadline_id = _awaiting_paper(engine, clock)
    before = database_image(engine)
    for actor in (APPLICANT, PLATFORM):
        with pytest.raises(NotPermitted):
            engine.extend_deadline(case_id, deadline_id, actor=actor, reason="please", working_days=3)
    for invisible in (" ", "\u200b", "\ufeff\u3000", "\u200e\n"):  # zero-width, BOM, ideographic space, bidi mark
        with pytest.raises(InvalidInput) as refused:
            engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason=invisible, working_days=3)
        assert refused.value.field == "reason", repr(invisible)
    with pytest.raises(DeadlineNotFound):
        engine.extend_deadline(case_id, deadline_id + 99, actor=STAFF, reason="x", working_days=3)
    assert database_image(engine) == before


def test_suspension_stops_the_clock_and_resumption_continues_it(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: SMS Mon 2025-09-22; Tue 23 and Wed 24 used; suspended Thu 25 -> 3 working days left
    case_id, deadline_id = _awaiting_paper(engine, clock, "2025-09-22 10:00")
    clock.set(sh("2025-09-25 09:00"))
    suspended = engine.suspend_deadline(case_id, deadline_id, actor=STAFF, reason="等待税务部门出具证明")
    assert (suspended.status, suspended.due_at) == ("suspended", None)
    clock.set(sh("2025-10-20 09:00"))
    assert engine.expire_due() == [], "a suspended deadline never expires"
    # resumed across National Day: Mon 10-20, Tue 10-21, Wed 10-22 are the 3 days left
    resumed = engine.resume_deadline(case_id, deadline_id, actor=STAFF, reason="证明已出具")
    assert (resumed.status, resumed.due_at) == ("pending", sh("2025-10-23 00:00"))
    assert _notice_kinds(engine, case_id)[-4:] == ["deadline_suspended"] * 2 + ["deadline_resumed"] * 2
    explained = {e.deadline.key: e.lines for e in engine.explain_deadlines(case_id)}["paper_delivery"]
    assert "2025-09-23..24 working day (counted)" in explained
    assert "2025-09-25..2025-10-19 suspended: 等待税务部门出具证明 (skipped)" in explained
    assert "due by the end of 2025-10-22 (Asia/Shanghai)" in explained


def test_suspension_across_a_holiday_keeps_the_remaining_days(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: SMS Fri 09-26; suspended Mon 09-29 after one day (Sun 09-28, a make-up working day)
    case_id, deadline_id = _awaiting_paper(engine, clock)
    clock.set(sh("2025-09-29 11:00"))
    engine.suspend_deadline(case_id, deadline_id, actor=STAFF, reason="台风")
    clock.set(sh("2025-10-02 11:00"))  # resumed inside the holiday: 4 days left from Thu 10-09
    resumed = engine.resume_deadline(case_id, deadline_id, actor=STAFF, reason="恢复")
    assert resumed.due_at == sh("2025-10-14 00:00")  # 10-09, 10-10, Sat 10-11 (make-up), Mon 10-13


def test_state_changes_refused_on_the_wrong_status(engine: Engine, clock: ManualClock) -> None:
    case_id, deadline_id = _awaiting_paper(engine, clock)
    with pytest.raises(InvalidInput) as refused:
        engine.resume_deadline(case_id, deadline_id, actor=STAFF, reason="x")
    assert refused.value.field == "status"
    clock.set(sh("2025-10-11 08:00"))
    with pytest.raises(InvalidInput, match="already passed"):
        engine.suspend_deadline(case_id, deadline_id, actor=STAFF, reason="x")
    engine.expire_due()
    with pytest.raises(InvalidInput, match="expired"):
        engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="x", working_days=1)


def test_explanation_lists_days_counted_and_skipped(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: the 'why' of a due date
    case_id, _ = _awaiting_paper(engine, clock)
    lines = {e.deadline.key: e.lines for e in engine.explain_deadlines(case_id)}["paper_delivery"]
    assert lines == (
        "clock started 2025-09-26 10:00:00 (Asia/Shanghai; portal_notified_at when the event that opened it gave one, "
        "else that event's own time); counting starts the next day",  # LG-DL-1
        "2025-09-27 weekend (skipped)",
        "2025-09-28 make-up working day for National Day (counted)",
        "2025-09-29..30 working day (counted)",
        "2025-10-01..08 National Day and Mid-autumn Festival holiday (国庆节、中秋节) (skipped)",
        "2025-10-09..10 working day (counted)",
        "due by the end of 2025-10-10 (Asia/Shanghai)",
    )
