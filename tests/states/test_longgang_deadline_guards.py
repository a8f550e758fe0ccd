"""LG-DL-1 at its edges: a governed event checks its own deadline, and the clock starts at the portal's SMS.

On both databases (the ``engine`` fixture): the sweep is not the guard, and the paper deadline
counts from when the Guangdong portal notified the applicant (``portal_notified_at``), not from
when the platform relayed it.
"""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput


def _portal_review(engine: Engine, clock: ManualClock, filed: str = "2025-09-22 10:00") -> int:
    clock.set(sh("2025-08-20 09:00"))
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    clock.set(sh(filed))
    engine.fire(case_id, "file_on_portal", actor=PLATFORM)
    return case_id


def test_lg_dl_1_paper_after_the_deadline_is_refused_even_if_no_sweep_ran(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: SMS Fri 2025-09-26 -> due by the end of Fri 2025-10-10; paper arrives Sat 10-11, the sweep is down
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    clock.set(sh("2025-10-11 09:00"))
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 1})
    assert (refused.value.rule, refused.value.field) == ("LG-DL-1", "deadlines.paper_delivery")
    assert database_image(engine) == before, "nothing written: the deadline is still pending, not met"
    (deadline,) = engine.get_case(case_id).deadlines
    assert (deadline.id, deadline.status) == (deadline_id, "pending")
    options = {o.name: o for o in engine.available_events(case_id, actor=STAFF)}
    assert options["receive_paper"].refusal is not None
    assert options["receive_paper"].refusal.rule == "LG-DL-1"
    assert engine.expire_due() == [(case_id, "paper_delivery")], "then the sweep abandons it"
    assert engine.get_case(case_id).state == "abandoned"


def test_lg_dl_1_paper_in_the_last_second_is_accepted(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: the last working day counts to its end (23:59:59 Asia/Shanghai)
    case_id, _ = awaiting_paper(engine, clock, "2025-09-26 10:00")
    clock.set(sh("2025-10-10 23:59:59"))
    case = engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 1})
    assert case.state == "evaluation"
    assert engine.history(case_id)[-1].new_values["deadlines_closed"] == {"paper_delivery": "met"}


def test_lg_win_1_submission_after_the_window_is_refused_even_if_no_sweep_ran(
    engine: Engine, clock: ManualClock
) -> None:
    # LG-WIN-1: the draft's window deadline is governed by `submit`; the sweep has not abandoned it yet
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    clock.set(sh("2025-09-14 00:00"))
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "submit", actor=PLATFORM)
    assert refused.value.rule == "LG-WIN-1"
    assert engine.get_case(case_id).deadlines[0].status == "pending"


def test_lg_dl_1_counts_from_the_portal_sms_not_from_the_relay(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: SMS Fri 09-26 10:00, relayed by the platform on Tue 09-30: still due by the end of Fri 10-10
    case_id = _portal_review(engine, clock)
    clock.set(sh("2025-09-30 15:00"))
    case = engine.fire(
        case_id, "approve_on_portal", actor=PLATFORM, payload={"portal_notified_at": "2025-09-26T10:00:00+08:00"}
    )
    (deadline,) = case.deadlines
    assert (deadline.started_at, deadline.due_at) == (sh("2025-09-26 10:00"), sh("2025-10-11 00:00"))
    lines = {e.deadline.key: e.lines for e in engine.explain_deadlines(case_id)}["paper_delivery"]
    assert lines[0].startswith("clock started 2025-09-26 10:00:00 (Asia/Shanghai; portal_notified_at")
    assert lines[-1] == "due by the end of 2025-10-10 (Asia/Shanghai)"
    assert engine.history(case_id)[-1].new_values["payload"] == {"portal_notified_at": "2025-09-26T10:00:00+08:00"}


def test_lg_dl_1_without_portal_notified_at_the_clock_starts_now(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: absent means "now"
    case_id = _portal_review(engine, clock)
    clock.set(sh("2025-09-26 10:00"))
    (deadline,) = engine.fire(case_id, "approve_on_portal", actor=PLATFORM).deadlines
    assert (deadline.started_at, deadline.due_at) == (sh("2025-09-26 10:00"), sh("2025-10-11 00:00"))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2025-09-30T15:00:01+08:00", "in the future"),
        ("2025-09-22T09:59:59+08:00", "before the case was filed on the portal"),
        ("2025-09-26T10:00:00", "no offset"),
        ("2025-09-26", "a date, not an instant"),
        ("2025-13-26T10:00:00+08:00", "not a real instant"),
        (1758852000, "a number"),
    ],
)
def test_lg_dl_1_portal_notified_at_is_validated(engine: Engine, clock: ManualClock, value: object, why: str) -> None:
    # LG-DL-1: not in the future, not before the file_on_portal moment, ISO 8601 with an offset
    case_id = _portal_review(engine, clock)
    clock.set(sh("2025-09-30 15:00"))
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "approve_on_portal", actor=PLATFORM, payload={"portal_notified_at": value})
    assert refused.value.field == "payload.portal_notified_at", why
    assert database_image(engine) == before


def test_lg_dl_1_the_filing_moment_itself_is_accepted(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: the SMS can come the same second the case was filed on the portal
    case_id = _portal_review(engine, clock)
    clock.set(sh("2025-09-30 15:00"))
    case = engine.fire(
        case_id, "approve_on_portal", actor=PLATFORM, payload={"portal_notified_at": "2025-09-22T02:00:00Z"}
    )
    assert case.deadlines[0].started_at == sh("2025-09-22 10:00")
