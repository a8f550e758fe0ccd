"""LG-DL-1 and LG-FLOW-5: five working days for the paper file after the portal's SMS notice."""

from __future__ import annotations

from datetime import datetime

import pytest

from states.longgang_ai_compute_2025.service_windows import SERVICE_WINDOWS
from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput


def _to_portal_review(engine: Engine) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    engine.fire(case_id, "file_on_portal", actor=PLATFORM)
    return case_id


def test_deadline_across_national_day_2025(engine: Engine, clock: ManualClock) -> None:
    # LG-DL-1: SMS on Fri 2025-09-26 -> Sun 09-28 (make-up day) counts, Oct 1-8 are off -> end of Fri 10-10
    case_id = _to_portal_review(engine)
    clock.set(sh("2025-09-26 10:00"))
    case = engine.fire(case_id, "approve_on_portal", actor=STAFF)
    (deadline,) = case.deadlines
    assert (deadline.key, deadline.rule, deadline.working_days) == ("paper_delivery", "LG-DL-1", 5)
    assert deadline.due_at == sh("2025-10-11 00:00")


def test_missed_paper_deadline_abandons_the_case(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # LG-DL-1: late means abandoned
    case_id = _to_portal_review(engine)
    clock.set(sh("2025-09-26 10:00"))
    engine.fire(case_id, "approve_on_portal", actor=STAFF)
    clock.set(sh("2025-10-10 23:59:59"))
    assert engine.expire_due() == []
    assert_invariants(engine, audit_key)
    clock.set(sh("2025-10-13 09:00"))  # the worker was down over the weekend
    assert engine.expire_due() == [(case_id, "paper_delivery")]
    last = engine.history(case_id)[-1]
    assert last.to_state == "abandoned"
    assert datetime.fromisoformat(last.new_values["due_at"]) == sh("2025-10-11 00:00")
    assert last.new_values["processed_late_seconds"] == 2 * 86400 + 9 * 3600
    assert_invariants(engine, audit_key)


def test_paper_received_at_a_listed_window_meets_the_deadline(engine: Engine, clock: ManualClock) -> None:
    # LG-FLOW-5: received at one of the 13 service windows, which is recorded
    assert len(SERVICE_WINDOWS) == 13
    assert SERVICE_WINDOWS[0].name == "深圳市龙岗区政务服务中心"
    assert SERVICE_WINDOWS[12].phone == "28919635"
    case_id = _to_portal_review(engine)
    clock.set(sh("2025-09-26 10:00"))
    engine.fire(case_id, "approve_on_portal", actor=STAFF)
    clock.set(sh("2025-10-10 17:00"))
    case = engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 7})
    assert case.state == "evaluation"
    assert case.deadlines == ()
    last = engine.history(case_id)[-1]
    assert last.new_values["payload"] == {"service_window": 7}
    assert last.new_values["deadlines_closed"] == {"paper_delivery": "met"}
    clock.set(sh("2025-10-13 09:00"))
    assert engine.expire_due() == []


@pytest.mark.parametrize(
    ("payload", "error", "field"),
    [
        ({}, InvalidInput, "payload.service_window"),
        ({"service_window": 14}, GuardRefused, "payload.service_window"),
        ({"service_window": "3"}, InvalidInput, "payload.service_window"),  # the declared type (issue 13.3)
    ],
)
def test_paper_receipt_needs_a_listed_window(
    engine: Engine, clock: ManualClock, payload: dict[str, object], error: type[Exception], field: str
) -> None:
    # LG-FLOW-5
    case_id = _to_portal_review(engine)
    engine.fire(case_id, "approve_on_portal", actor=STAFF)
    before = database_image(engine)
    with pytest.raises(error) as refused:
        engine.fire(case_id, "receive_paper", actor=STAFF, payload=payload)
    assert getattr(refused.value, "field", None) == field
    assert database_image(engine) == before
