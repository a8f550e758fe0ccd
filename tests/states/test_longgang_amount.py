"""LG-AMT-1 and LG-AMT-2: 30% of fees of at least 500,000 CNY, capped at 6,000,000 CNY, exact."""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput


def test_fees_just_below_the_minimum_are_refused_at_submission(engine: Engine) -> None:
    # LG-AMT-1: 499,999.99 is below 500,000 (inclusive minimum)
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(fees_cny="499999.99"), actor=PLATFORM)
    assert case.amount_fen == 0
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case.id, "submit", actor=PLATFORM)
    assert refused.value.rule == "LG-AMT-1"
    assert refused.value.field == "data.fees_cny"
    assert "499,999.99" in str(refused.value)


@pytest.mark.parametrize(
    ("fees", "subsidy_fen"),
    [
        ("500000.00", 15_000_000),  # LG-AMT-1 inclusive: 150,000.00
        ("1234567.89", 37_037_037),  # 370,370.367 -> half-up to the fen
        ("20000000.00", 600_000_000),  # exactly at the cap
        ("25000000.00", 600_000_000),  # LG-AMT-2: capped at 6,000,000.00
    ],
)
def test_subsidy_is_thirty_percent_capped_and_exact(engine: Engine, fees: str, subsidy_fen: int) -> None:
    # LG-AMT-2
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(fees_cny=fees), actor=PLATFORM)
    assert case.amount_fen == subsidy_fen
    assert isinstance(case.amount_fen, int)
    submitted = engine.fire(case.id, "submit", actor=PLATFORM)
    assert submitted.amount_fen == subsidy_fen


def test_amount_steps_name_the_rules(engine: Engine) -> None:
    # LG-AMT-2: the computation explains itself with rule IDs
    process = engine.programs.get(PROGRAM)
    amount = process.definition.amount(complete_data(fees_cny="25000000.00"))
    assert amount is not None
    assert amount.yuan == "6000000.00"
    assert [step.split(":")[0] for step in amount.steps] == ["LG-AMT-2", "LG-AMT-2"]


@pytest.mark.parametrize(
    "fees", ["-1.00", "abc", "1e400", "1e999999", "12.345", 1500000.5, True, None, "NaN", "Infinity"]
)
def test_bad_fees_are_refused_naming_the_field(engine: Engine, fees: object) -> None:
    # LG-AMT-2: money is exact; negative, non-numeric, float or sub-fen values are refused
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(fees_cny=fees), actor=PLATFORM)
    assert refused.value.field == "data.fees_cny"
    assert database_image(engine) == before


def test_amount_follows_corrected_fees_on_resubmission(engine: Engine) -> None:
    # LG-AMT-2 with LG-FLOW-2: a correction recomputes the amount and the audit shows old and new
    from tests.support.longgang import STAFF

    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(fees_cny="1000000.00"), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    engine.fire(case.id, "return_for_correction", actor=STAFF, payload={"reason": "金额与发票不符"})
    corrected = engine.fire(case.id, "resubmit", actor=PLATFORM, payload={"data": {"fees_cny": "900000.00"}})
    assert corrected.amount_fen == 27_000_000
    last = engine.history(case.id)[-1]
    assert last.old_values["data"] == {"fees_cny": "1000000.00"}
    assert last.new_values["data"] == {"fees_cny": "900000.00"}
    assert (last.old_values["amount_fen"], last.new_values["amount_fen"]) == (30_000_000, 27_000_000)
