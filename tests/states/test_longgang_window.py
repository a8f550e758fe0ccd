"""LG-WIN-1 and LG-WIN-2: the online window binds the first submission only."""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused


def _draft(engine: Engine) -> int:
    return engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id


@pytest.mark.parametrize("moment", ["2025-08-13 00:00:00", "2025-09-13 23:59:59", "2025-08-31 12:00:00"])
def test_submission_inside_window_is_accepted(engine: Engine, clock: ManualClock, moment: str) -> None:
    # LG-WIN-1: 2025-08-13 to 2025-09-13 inclusive, Asia/Shanghai
    clock.set(sh("2025-08-12 10:00"))
    case_id = _draft(engine)
    clock.set(sh(moment))
    case = engine.fire(case_id, "submit", actor=PLATFORM)
    assert case.state == "online_review"
    assert case.submitted_at == sh(moment)


@pytest.mark.parametrize("moment", ["2025-08-12 23:59:59", "2025-09-14 00:00:00", "2025-12-01 09:00:00"])
def test_submission_outside_window_is_refused_and_writes_nothing(
    engine: Engine, clock: ManualClock, moment: str
) -> None:
    # LG-WIN-1
    clock.set(sh("2025-08-12 10:00"))
    case_id = _draft(engine)
    clock.set(sh(moment))
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "submit", actor=PLATFORM)
    assert refused.value.rule == "LG-WIN-1"
    assert refused.value.case_id == case_id
    assert "2025-08-13" in str(refused.value)
    assert database_image(engine) == before


def test_resubmission_after_return_is_not_bound_by_the_window(engine: Engine, clock: ManualClock) -> None:
    # LG-WIN-2: corrections and resubmissions after the window are accepted
    case_id = _draft(engine)
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": "发票不清晰"})
    clock.set(sh("2025-09-20 10:00"))
    case = engine.fire(case_id, "resubmit", actor=PLATFORM)
    assert case.state == "online_review"
    assert case.submitted_at == sh("2025-08-20 09:00"), "the first submission time is kept"


def test_draft_never_submitted_is_abandoned_when_the_window_closes(engine: Engine, clock: ManualClock) -> None:
    # LG-WIN-1: 逾期视作放弃
    case_id = _draft(engine)
    clock.set(sh("2025-09-13 23:59:59"))
    assert engine.expire_due() == []
    clock.set(sh("2025-09-14 00:00"))
    assert engine.expire_due() == [(case_id, "online_window")]
    case = engine.get_case(case_id)
    assert case.state == "abandoned"
    last = engine.history(case_id)[-1]
    assert (last.role, last.event, last.new_values["deadlines_closed"]) == (
        "system",
        "window_closed",
        {"online_window": "expired"},
    )
    assert engine.expire_due() == [], "an expiry is processed once"


def test_submitted_case_is_not_abandoned_at_window_close(engine: Engine, clock: ManualClock) -> None:
    # LG-WIN-1: the window deadline is met by the submission
    case_id = _draft(engine)
    engine.fire(case_id, "submit", actor=PLATFORM)
    clock.set(sh("2025-09-15 09:00"))
    assert engine.expire_due() == []
    assert engine.get_case(case_id).state == "online_review"
