"""Shenzhen amounts and dates that must never be assumed: SZ-AMT-1 (ceiling, 事后资助), SZ-AMT-2/3 (stated facts)."""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, STAFF, applicant, sh
from tests.support.shenzhen import PROGRAM, contract, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused


@pytest.fixture
def in_window(clock: ManualClock) -> ManualClock:
    clock.set(sh("2024-11-25 10:00"))
    return clock


def test_fifty_percent_is_a_ceiling_and_rounds_down(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-1: 1,000,000.01 at 50% is 500,000.005: 500,000.00, never 500,000.01
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=voucher_data("1000000.01"), actor=PLATFORM)
    assert case.amount_fen == 50_000_000
    amount = engine.explain_amount(case.id)
    assert amount is not None
    assert amount.steps == (
        "SZ-AMT-1: at most 50% of contract 1 (1,000,000.01 CNY), rounded down to the fen, = 500,000.00 CNY",
    )


def test_sixty_percent_for_a_start_up_is_a_ceiling_too(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-3: 60% of 1,000,000.01 is 600,000.006: 600,000.00
    data = voucher_data("1000000.01", registered_on="2024-03-01", annual_spend_cny="600000.00")
    assert engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM).amount_fen == 60_000_000


@pytest.mark.parametrize(
    ("missing", "changes", "rule"),
    [
        ("is_sme", {}, "SZ-AMT-2"),
        ("registered_on", {}, "SZ-AMT-3"),
        ("annual_spend_cny", {"registered_on": "2024-03-01"}, "SZ-AMT-3"),
    ],
)
def test_a_fact_that_changes_the_amount_is_required_and_never_assumed(
    engine: Engine, in_window: ManualClock, missing: str, changes: dict[str, str], rule: str
) -> None:
    # SZ-AMT-2, SZ-AMT-3: a non-SME answer would cap at 2,000,000; a missing spend would give 50% not 60%
    data = voucher_data("6000000.00", **changes)
    stated = data.pop(missing)
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM)
    assert case.amount_fen is None, "a draft shows no amount rather than one that assumes the answer"
    assert engine.explain_amount(case.id) is None
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == (rule, f"data.{missing}")
    assert database_image(engine) == before
    submitted = engine.fire(case.id, "submit", actor=PLATFORM, payload={"data": {missing: stated}})
    assert submitted.state == "pending_acceptance"
    assert submitted.amount_fen is not None


def test_is_sme_false_is_a_stated_fact(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-2: "false" is an answer (2,000,000 cap), unlike an absent field
    data = voucher_data("6000000.00", is_sme=False)
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM)
    assert engine.fire(case.id, "submit", actor=PLATFORM).amount_fen == 200_000_000


def test_a_contract_signed_after_the_filing_is_refused(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-1 (事后资助) and SZ-ELIG-5: a filing carries contracts already signed on the day it is filed
    data = voucher_data(contracts=[contract("1000000.00", signed_on="2024-11-26")])
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("SZ-AMT-1", "data.contracts.0.signed_on")
    assert "2024-11-25" in str(refused.value)


def test_a_resubmission_keeps_the_first_filings_date(engine: Engine, in_window: ManualClock) -> None:
    # SZ-AMT-1 (事后资助): a correction may fix a contract, not add one signed after the filing
    case = engine.open_case(PROGRAM, applicant=applicant(1), data=voucher_data(), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    engine.fire(case.id, "accept", actor=STAFF)
    engine.fire(case.id, "return_for_correction", actor=STAFF, payload={"reason": "合同日期不清晰"})
    in_window.set(sh("2024-12-20 10:00"))
    later = {"contracts": [contract("1000000.00", signed_on="2024-12-01")]}
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "resubmit", actor=PLATFORM, payload={"data": later})
    assert (refused.value.rule, refused.value.field) == ("SZ-AMT-1", "data.contracts.0.signed_on")
    corrected = {"contracts": [contract("1000000.00", signed_on="2024-11-25", service_until="2026-12-31")]}
    assert engine.fire(case.id, "resubmit", actor=PLATFORM, payload={"data": corrected}).state == "preliminary_review"
