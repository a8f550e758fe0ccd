"""LG-AGENT-1 and SZ-AGENT-1: applicants file themselves; no intermediary or third party files for them.

The platform says who submitted (``submitter_code``); a submission from an account that is not
the applicant's is refused naming the rule. Staff who find an intermediary later refuse the case
at the formal/online review stage with an event of its own, counted per round. Both databases.
"""

from __future__ import annotations

import pytest

from app.refusal_counts import staff_refusal_counts
from tests.support import shenzhen as sz
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh, uscc
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput, NotPermitted

AGENCY = uscc(777)  # a consultancy's account on the platform


def test_lg_agent_1_a_submission_from_another_account_is_refused(engine: Engine) -> None:
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM, payload={"submitter_code": AGENCY})
    assert (refused.value.rule, refused.value.field, refused.value.code) == (
        "LG-AGENT-1",
        "payload.submitter_code",
        "intermediary",
    )
    assert database_image(engine) == before
    own = engine.fire(case.id, "submit", actor=PLATFORM, payload={"submitter_code": uscc(1).lower()})
    assert own.state == "online_review"
    assert engine.history(case.id)[-1].new_values["payload"] == {"submitter_code": uscc(1).lower()}


def test_lg_agent_1_staff_refuse_an_intermediary_filing_at_online_review_and_the_round_counts_it(
    engine: Engine,
) -> None:
    assert staff_refusal_counts(engine, PROGRAM)[0]["count"] == 0
    first = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    engine.fire(first, "submit", actor=PLATFORM)
    with pytest.raises(InvalidInput) as no_reason:
        engine.fire(first, "reject_intermediary", actor=STAFF)
    assert no_reason.value.field == "payload.reason"
    with pytest.raises(NotPermitted):
        engine.fire(first, "reject_intermediary", actor=PLATFORM, payload={"reason": "x"})
    case = engine.fire(first, "reject_intermediary", actor=STAFF, payload={"reason": "经核实系某咨询公司代为申报"})
    assert (case.state, case.final) == ("rejected", True)
    second = engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM).id
    engine.fire(second, "submit", actor=PLATFORM)
    engine.fire(second, "reject", actor=STAFF, payload={"reason": "材料不全"})  # another reason: not counted
    assert staff_refusal_counts(engine, PROGRAM) == [
        {
            "event": "reject_intermediary",
            "rule": "LG-AGENT-1",
            "reason_code": "intermediary",
            "label": "通过中介申报",
            "count": 1,
        }
    ]


def test_sz_agent_1_refused_at_submission_and_at_formal_review(engine: Engine, clock: ManualClock) -> None:
    clock.set(sh("2024-11-25 10:00"))
    case = engine.open_case(sz.PROGRAM, applicant=applicant(1), data=sz.voucher_data(), actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM, payload={"submitter_code": AGENCY})
    assert (refused.value.rule, refused.value.field) == ("SZ-AGENT-1", "payload.submitter_code")
    engine.fire(case.id, "submit", actor=PLATFORM, payload={"submitter_code": uscc(1)})
    engine.fire(case.id, "accept", actor=STAFF)
    done = engine.fire(case.id, "reject_intermediary", actor=STAFF, payload={"reason": "申请书系委托中介代写"})
    assert done.state == "rejected"
    [counted] = staff_refusal_counts(engine, sz.PROGRAM)
    assert (counted["rule"], counted["count"]) == ("SZ-AGENT-1", 1)
