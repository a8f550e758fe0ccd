"""LG-WIN-1 at opening, LG-ELIG-2 re-filing, LG-AMT-2 across cases, LG-FLOW-6 timing, and `returned` (LG-FLOW-2).

Each decision is documented in README ("The 2025 Longgang AI compute subsidy") and in
``states/longgang_ai_compute_2025/process.py``. All on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from states import longgang_ai_compute_2025 as longgang
from states import shenzhen_training_voucher_2024 as shenzhen
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.shenzhen import PROGRAM as SHENZHEN
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused
from workflow.process import ProgramCatalog

SUPPLEMENTARY = replace(
    longgang.LONGGANG_2025,
    key="longgang-ai-compute-2025-supplementary",
    window_opens=date(2025, 11, 3),
    window_closes=date(2025, 11, 28),
)


@pytest.fixture
def two_rounds(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    """The 2025 round and a supplementary round of the same year (one yearly cap, LG-AMT-2)."""
    catalog = ProgramCatalog([longgang.build(), longgang.build(SUPPLEMENTARY), shenzhen.build()])
    engine = bootstrap(settings, clock=clock, programs=catalog)
    yield engine
    engine.database.dispose()


def _funded(engine: Engine, clock: ManualClock, rnd: longgang.LonggangRound, fees: str) -> int:
    """A case of ``rnd`` taken to `funded`: window, paper, publicity after the window (LG-FLOW-6)."""
    clock.set(sh(f"{rnd.window_opens.isoformat()} 09:00"))
    case_id = engine.open_case(rnd.key, applicant=applicant(), data=complete_data(fees_cny=fees), actor=PLATFORM).id
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
    engine.fire(case_id, "approve_on_portal", actor=PLATFORM)
    engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 2})
    clock.set(rnd.closes_at)
    engine.fire(case_id, "start_publicity", actor=STAFF)
    clock.advance(timedelta(days=20))
    engine.expire_due()
    assert engine.fire(case_id, "fund", actor=STAFF).state == "funded"
    return case_id


def test_lg_win_1_no_case_opens_after_the_window_closed(engine: Engine, clock: ManualClock) -> None:
    # LG-WIN-1 (issue 12.13): refused at the door, instead of a draft abandoned by the next sweep
    clock.set(sh("2025-09-14 00:00"))
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-WIN-1", "program")
    assert "2025-09-13" in str(refused.value)
    assert database_image(engine) == before


def test_lg_win_1_a_draft_may_be_opened_before_the_window_and_in_its_last_second(
    engine: Engine, clock: ManualClock
) -> None:
    # LG-WIN-1: preparing a draft before 08-13 is fine (submission still waits for the window)
    clock.set(sh("2025-08-01 09:00"))
    assert engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).state == "draft"
    clock.set(sh("2025-09-13 23:59:59"))
    assert engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM).state == "draft"


def test_sz_win_1_no_voucher_case_opens_after_18_00(engine: Engine, clock: ManualClock) -> None:
    # SZ-WIN-1 (issue 12.13): the voucher window closes 2024-12-09 18:00
    clock.set(sh("2024-12-09 17:59:59"))
    assert engine.open_case(SHENZHEN, applicant=applicant(1), data=voucher_data(), actor=PLATFORM).state == "draft"
    clock.set(sh("2024-12-09 18:00"))
    with pytest.raises(GuardRefused) as refused:
        engine.open_case(SHENZHEN, applicant=applicant(2), data=voucher_data(), actor=PLATFORM)
    assert refused.value.rule == "SZ-WIN-1"
    assert "2024-12-09 18:00" in str(refused.value)


@pytest.mark.parametrize("ending", ["rejected", "abandoned", "funded"])
def test_lg_elig_2_a_decided_or_abandoned_matter_is_not_filed_again(
    engine: Engine, clock: ManualClock, ending: str
) -> None:
    # LG-ELIG-2 (三(一)4): no second filing of the matter in the round after it was decided or given up
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, ending, actor=STAFF, reason="测试：案件已结束")
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-ELIG-2", "applicant.code")
    assert f"case {case_id}" in str(refused.value)
    assert database_image(engine) == before


def test_lg_elig_2_after_a_withdrawal_the_enterprise_may_file_again(engine: Engine, clock: ManualClock) -> None:
    # LG-ELIG-2: a withdrawn filing was never decided, and is no longer live
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "withdraw", actor=PLATFORM)
    again = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    assert again.state == "draft"


def test_lg_amt_2_the_yearly_cap_binds_across_the_rounds_of_a_year(two_rounds: Engine, clock: ManualClock) -> None:
    # LG-AMT-2: 30% of 15,000,000 = 4,500,000 funded in the main round; the supplementary round gets
    # 30% of 10,000,000 = 3,000,000 capped to the 1,500,000 left of the 6,000,000 yearly cap
    engine = two_rounds
    first = _funded(engine, clock, longgang.LONGGANG_2025, "15000000.00")
    assert engine.get_case(first).amount_fen == 450_000_000
    second = _funded(engine, clock, SUPPLEMENTARY, "10000000.00")
    assert engine.get_case(second).amount_fen == 150_000_000
    steps = engine.explain_amount(second)
    assert steps is not None
    assert any("LG-AMT-2" in s and "4,500,000.00" in s for s in steps.steps), steps
    assert engine.get_case(first).amount_fen == 450_000_000, "a granted case keeps what it got"


def test_lg_amt_2_a_funded_cap_leaves_nothing_for_a_later_round(two_rounds: Engine, clock: ManualClock) -> None:
    # LG-AMT-2: 30% of 25,000,000 = 7,500,000, capped at 6,000,000; a later round of the year gets 0
    engine = two_rounds
    first = _funded(engine, clock, longgang.LONGGANG_2025, "25000000.00")
    assert engine.get_case(first).amount_fen == 600_000_000
    clock.set(sh("2025-11-03 09:00"))
    later = engine.open_case(SUPPLEMENTARY.key, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    assert later.amount_fen == 0


def test_lg_flow_6_publicity_waits_for_the_end_of_the_filing_period(engine: Engine, clock: ManualClock) -> None:
    # LG-FLOW-6: 申报期结束后; the window closes at the end of 2025-09-13
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
    engine.fire(case_id, "approve_on_portal", actor=PLATFORM)
    engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 5})
    clock.set(sh("2025-09-13 23:59:59"))
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "start_publicity", actor=STAFF)
    assert refused.value.rule == "LG-FLOW-6"
    assert database_image(engine) == before
    clock.set(sh("2025-09-14 00:00"))
    assert engine.fire(case_id, "start_publicity", actor=STAFF).state == "publicity"


@pytest.mark.parametrize("program", [PROGRAM, SHENZHEN])
def test_lg_flow_2_staff_may_reject_a_returned_case_with_a_reason(
    engine: Engine, clock: ManualClock, program: str
) -> None:
    # LG-FLOW-2 / SZ-FLOW-2: no resubmission deadline in either guide; staff reject a returned case directly
    if program == SHENZHEN:
        clock.set(sh("2024-11-20 09:00"))
        case_id = engine.open_case(program, applicant=applicant(), data=voucher_data(), actor=PLATFORM).id
        engine.fire(case_id, "submit", actor=PLATFORM)
        engine.fire(case_id, "accept", actor=STAFF)
    else:
        case_id = engine.open_case(program, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
        engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": "请补充发票"})
    assert engine.get_case(case_id).deadlines == (), "no resubmission deadline"
    options = {o.name: o for o in engine.available_events(case_id, actor=STAFF)}
    assert options["reject"].requires == ("reason",)
    rejected = engine.fire(case_id, "reject", actor=STAFF, payload={"reason": "逾期未补正材料"})
    assert rejected.state == "rejected"
