"""Engine.advance_batch over a reviewer's selection (the console's batch): SZ-FLOW-3 order, stop at a refusal."""

from __future__ import annotations

from datetime import timedelta

from tests.support.longgang import PLATFORM, STAFF, applicant
from tests.support.longgang import PROGRAM as LONGGANG
from tests.support.shenzhen import PROGRAM, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine


def test_a_selection_goes_in_submission_order_and_stops_at_the_first_refusal(
    engine: Engine, clock: ManualClock
) -> None:
    # SZ-FLOW-3: the selection [3, 2] fires 2 before 3; case 1 (not selected) is still ahead, so 2 is refused
    clock.set(clock.now().replace(year=2024, month=11, day=25))
    ids = []
    for serial in (1, 2, 3):
        ids.append(engine.open_case(PROGRAM, applicant=applicant(serial), data=voucher_data(), actor=PLATFORM).id)
        engine.fire(ids[-1], "submit", actor=PLATFORM)
        clock.advance(timedelta(minutes=1))
    stopped = engine.advance_batch(PROGRAM, "accept", count=2, actor=STAFF, case_ids=[ids[2], ids[1]])
    assert (stopped.advanced, stopped.stopped_at) == ((), ids[1])
    assert stopped.error is not None
    assert stopped.error.rule == "SZ-FLOW-3"
    done = engine.advance_batch(PROGRAM, "accept", count=3, actor=STAFF, case_ids=[ids[2], ids[0], ids[1]])
    assert (done.advanced, done.stopped_at) == ((ids[0], ids[1], ids[2]), None)


def test_a_selection_takes_only_cases_of_the_program(engine: Engine) -> None:
    other = engine.open_case(LONGGANG, applicant=applicant(9), data={}, actor=PLATFORM).id
    outcome = engine.advance_batch(PROGRAM, "accept", count=1, actor=STAFF, case_ids=[other])
    assert outcome.advanced == ()
    assert outcome.stopped_at is None
    assert engine.get_case(other).state == "draft"
