"""Reminder ladders (each rung once, never late and senseless), staff alerts, and catch-up after downtime."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from scheduler import jobs
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import audit_events, notices


def _notices(engine: Engine, *kinds: str) -> list[tuple[str, str, str]]:
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.kind, notices.c.channel, notices.c.recipient)
            .where(notices.c.kind.in_(kinds))
            .order_by(notices.c.id)
        )
        return [(r.kind, r.channel, r.recipient) for r in rows]


def _awaiting_paper(engine: Engine, clock: ManualClock, serial: int, when: str) -> int:
    return awaiting_paper(engine, clock, when, serial=serial)[0]


def test_draft_reminders_three_days_and_one_day_before_the_window_closes(engine: Engine, clock: ManualClock) -> None:
    # LG-WIN-1 with LG-NOTE-1: reminders before the window closes, each rung once
    engine.open_case(PROGRAM, applicant=applicant(), data={}, actor=PLATFORM)
    clock.set(sh("2025-09-10 08:59"))
    assert engine.send_due_reminders() == 0
    clock.set(sh("2025-09-10 09:00"))
    assert engine.send_due_reminders() == 1
    assert engine.send_due_reminders() == 0, "a rung is sent once"
    clock.set(sh("2025-09-12 09:30"))
    assert engine.send_due_reminders() == 1
    assert engine.send_due_reminders() == 0
    assert [k for k, _, _ in _notices(engine, "window_closing")] == ["window_closing"] * 4


def test_submitted_cases_get_no_window_reminder(engine: Engine, clock: ManualClock) -> None:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    clock.set(sh("2025-09-12 09:30"))
    assert engine.send_due_reminders() == 0


def test_a_rung_found_late_is_dropped_when_it_no_longer_makes_sense(engine: Engine, clock: ManualClock) -> None:
    # The worker was down from Sep 9 to Sep 12 10:00: "3 days left" is stale, "1 day left" still true.
    engine.open_case(PROGRAM, applicant=applicant(), data={}, actor=PLATFORM)
    clock.set(sh("2025-09-12 10:00"))
    assert engine.send_due_reminders() == 1
    assert engine.send_due_reminders() == 0
    with engine.database.connect() as conn:
        rungs = conn.execute(sa.select(notices.c.idempotency_key).where(notices.c.kind == "window_closing")).scalars()
        assert {key.split("/")[2] for key in rungs} == {"1_day_before"}


def test_no_reminder_after_the_deadline(engine: Engine, clock: ManualClock) -> None:
    engine.open_case(PROGRAM, applicant=applicant(), data={}, actor=PLATFORM)
    clock.set(sh("2025-09-14 01:00"))
    assert engine.send_due_reminders() == 0
    assert _notices(engine, "window_closing") == []


def test_paper_deadline_rungs_and_the_staff_alert_when_missed(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1 with LG-NOTE-1: 2 working days before the last day (Tue 09-30, the holiday in between)
    # and on the morning of the last day (Fri 10-10); then overdue -> staff
    case_id = _awaiting_paper(engine, clock, 1, "2025-09-26 10:00")
    clock.set(sh("2025-09-30 09:00"))
    assert engine.send_due_reminders() == 1
    clock.set(sh("2025-10-10 09:00"))
    assert engine.send_due_reminders() == 1
    clock.set(sh("2025-10-11 00:00"))
    assert engine.expire_due() == [(case_id, "paper_delivery")]
    assert _notices(engine, "paper_due_soon", "paper_due_today", "paper_deadline_missed") == [
        ("paper_due_soon", "sms", "13900000001"),
        ("paper_due_soon", "email", "case1@example.cn"),
        ("paper_due_today", "sms", "13900000001"),
        ("paper_due_today", "email", "case1@example.cn"),
        ("paper_deadline_missed", "email", "staff"),
    ]


def test_extension_reschedules_the_ladder_for_the_new_date(engine: Engine, clock: ManualClock) -> None:
    case_id = _awaiting_paper(engine, clock, 1, "2025-09-26 10:00")
    clock.set(sh("2025-10-10 09:00"))
    assert engine.send_due_reminders() == 1, "both rungs are due now: the stale one is dropped"
    deadline_id = engine.get_case(case_id).deadlines[0].id
    engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="材料在途", working_days=3)  # Sat 11, 13, 14
    clock.set(sh("2025-10-11 09:00"))
    assert engine.send_due_reminders() == 1, "2 working days before the new last day"
    clock.set(sh("2025-10-14 09:00"))
    assert engine.send_due_reminders() == 1
    assert len(_notices(engine, "paper_due_today")) == 4, "the last-day rung again, for the new last day"


def test_catch_up_processes_every_missed_expiry_once_in_due_order(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # Stop the worker, advance the clock 10 days, start it: every missed expiry once, oldest first,
    # and the trail says when each was due and how late it ran. Opened in reverse order of due time,
    # so processing by id instead of due time would show.
    starts = ["2025-09-25 10:00", "2025-09-24 10:00", "2025-09-23 10:00", "2025-09-22 10:00"]
    case_ids = [_awaiting_paper(engine, clock, i + 1, when) for i, when in enumerate(starts)]
    clock.set(sh("2025-09-26 10:00"))
    assert jobs.tick(engine, "worker-a").expired == [], "nothing is due while the worker still runs"
    clock.advance(timedelta(days=10))  # the worker was down from here to 2025-10-06 10:00
    restarted = jobs.tick(engine, "worker-a")
    due_order = [case_ids[3], case_ids[2], case_ids[1]]  # due 09-29, 09-30, 10-01; case 1 is due 10-10
    assert restarted.expired == [(case_id, "paper_delivery") for case_id in due_order]
    assert jobs.tick(engine, "worker-a").expired == [], "each missed expiry is processed once"
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.case_id, audit_events.c.new_values, audit_events.c.actor)
            .where(audit_events.c.event == "miss_paper_deadline")
            .order_by(audit_events.c.id)
        ).all()
    assert [r.case_id for r in rows] == due_order
    dues = [datetime.fromisoformat(r.new_values["due_at"]) for r in rows]
    # 23, 24, 25, 26, Sun 28 (a make-up working day) for the first; each next one a working day later
    assert dues == [sh("2025-09-29 00:00"), sh("2025-09-30 00:00"), sh("2025-10-01 00:00")]
    late = [r.new_values["processed_late_seconds"] for r in rows]
    assert late == [(sh("2025-10-06 10:00") - due) // timedelta(seconds=1) for due in dues]
    assert {r.actor for r in rows} == {"filingflow"}
    assert engine.get_case(case_ids[0]).state == "awaiting_paper", "not due yet: untouched"
    assert_invariants(engine, audit_key)
