"""Every money field of both programs goes through the strict reader (LG-AMT-2, SZ-AMT-1), on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, applicant, complete_data
from tests.support.longgang import PROGRAM as LONGGANG
from tests.support.shenzhen import PROGRAM as SHENZHEN
from tests.support.shenzhen import contract, voucher_data
from workflow.engine import Engine
from workflow.errors import InvalidInput

MONEY_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    (LONGGANG, {"fees_cny": "500000,00"}, "data.fees_cny"),
    (SHENZHEN, {"contracts": [contract("500000,00")]}, "data.contracts.0.amount_cny"),
    (
        SHENZHEN,
        {"contracts": [contract("1000000.00", other_fiscal_funding_cny="500000,00")]},
        "data.contracts.0.other_fiscal_funding_cny",
    ),
    (SHENZHEN, {"annual_spend_cny": "500000,00"}, "data.annual_spend_cny"),
]


@pytest.mark.parametrize(("program", "changes", "field"), MONEY_FIELDS, ids=[f for _, _, f in MONEY_FIELDS])
def test_an_ambiguous_amount_is_refused_in_every_money_field(
    engine: Engine, program: str, changes: dict[str, Any], field: str
) -> None:
    # LG-AMT-2 / SZ-AMT-1: "500000,00" was read as 50,000,000.00 and shown a 6,000,000 subsidy
    data = complete_data(**changes) if program == LONGGANG else voucher_data(**changes)
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(program, applicant=applicant(), data=data, actor=PLATFORM)
    assert refused.value.field == field
    assert "'500000,00'" in refused.value.message
    assert database_image(engine) == before, "nothing half-written"


def test_an_office_written_amount_is_read_exactly(engine: Engine) -> None:
    # LG-AMT-2: "1,200,000.00" with separators, and full-width digits, are the same 1,200,000 CNY
    for serial, fees in ((1, "1,200,000.00"), (2, "１２０００００．００")):
        case = engine.open_case(
            LONGGANG, applicant=applicant(serial), data=complete_data(fees_cny=fees), actor=PLATFORM
        )
        assert case.data["fees_cny"] == "1200000.00", "stored in one canonical form"
        assert case.amount_fen == 36_000_000
