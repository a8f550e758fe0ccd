"""The 2024 Shenzhen voucher at every edge of its guide: the table is ``shenzhen_edges.md`` beside this file.

The table is written for a reviewer who does not read Python (instants around the 18:00
cut-off, amounts at the ceilings and caps, contract dates, applicant kinds), with the
expected outcome and rule ID of each row; this module only reads it and runs each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from states.shenzhen_training_voucher_2024.providers import CATALOGUE
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, applicant, sh
from tests.support.shenzhen import PROGRAM, contract, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput
from workflow.money import parse_yuan
from workflow.views import CaseSnapshot

TABLE = Path(__file__).with_name("shenzhen_edges.md")
DEFAULT_MOMENT = "2024-11-25 10:00:00"
UNLISTED_PROVIDER = "91440300000000009A"
LAST_DRAFT = sh("2024-12-09 17:00")


@dataclass(frozen=True)
class Edge:
    number: str
    edge: str
    filed_at: str
    changes: str
    outcome: str
    amount: str
    rule: str
    field: str


def _rows() -> list[Edge]:
    lines = [line.strip() for line in TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return [Edge(*(cell.strip() for cell in line.strip("|").split("|"))) for line in lines[2:]]


ROWS = _rows()


def _value(text: str) -> Any:
    return {"true": True, "false": False}.get(text, text)


def _data(changes: str) -> tuple[dict[str, Any], bool]:
    """The complete filing with the row's changes; also whether the applicant is a catalogued provider."""
    data = voucher_data()
    first = data["contracts"][0]
    as_provider = False
    for change in filter(None, (c.strip() for c in changes.split(";"))):
        name, _, text = change.partition("=")
        if name == "contracts":
            data["contracts"] = [contract(amount) for amount in text.split("+")]
        elif name == "applicant":
            as_provider = text == "provider"
        elif name == "provider":
            first["provider_code"] = {"unlisted": UNLISTED_PROVIDER, "lapsed": CATALOGUE[2].code}[text]
        elif name in ("amount", "signed_on", "service_until", "other_funding"):
            key = {"amount": "amount_cny", "other_funding": "other_fiscal_funding_cny"}.get(name, name)
            first[key] = text
        elif name.startswith("declarations."):
            data["declarations"][name.split(".", 1)[1]] = _value(text)
        elif text == "(absent)":
            data.pop(name, None)
        else:
            data[name] = _value(text)
    return data, as_provider


def _file(
    engine: Engine, clock: ManualClock, who: dict[str, Any], data: dict[str, Any], at: datetime
) -> tuple[str, CaseSnapshot | GuardRefused]:
    """Open the application and submit it at ``at``; returns the stage reached and its outcome.

    The draft is opened at ``at`` too, or, when ``at`` is after the window has closed, just
    before the close (17:00 on the last day), so the row tests the submission itself. A round
    may refuse to open a draft outside its window: that refusal is returned as stage "open".
    """
    clock.set(min(at, LAST_DRAFT))
    try:
        case_id = engine.open_case(PROGRAM, applicant=who, data=data, actor=PLATFORM).id
    except GuardRefused as refused:
        return "open", refused
    clock.set(at)
    try:
        return "submit", engine.fire(case_id, "submit", actor=PLATFORM)
    except GuardRefused as refused:
        return "submit", refused


def test_the_table_is_well_formed() -> None:
    assert len(ROWS) >= 40
    assert [row.number for row in ROWS] == [str(n) for n in range(1, len(ROWS) + 1)]
    for row in ROWS:
        assert row.outcome in ("submitted", "refused", "invalid"), row
        assert row.rule.startswith("SZ-"), row
        assert bool(row.amount) == (row.outcome == "submitted"), row
        assert bool(row.field) == (row.outcome != "submitted"), row


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.number}-{r.rule}" for r in ROWS])
def test_shenzhen_edge(engine: Engine, clock: ManualClock, row: Edge) -> None:
    # SZ-WIN-1, SZ-ELIG-1..5, SZ-AMT-1..3: each row names the rule it checks
    data, as_provider = _data(row.changes)
    who = {**applicant(1), "code": CATALOGUE[0].code} if as_provider else applicant(1)
    at = sh(DEFAULT_MOMENT if row.filed_at == "-" else row.filed_at)
    clock.set(at)
    if row.outcome == "invalid":
        before = database_image(engine)
        with pytest.raises(InvalidInput) as invalid:
            engine.open_case(PROGRAM, applicant=who, data=data, actor=PLATFORM)
        assert invalid.value.field == row.field, f"row {row.number}: {invalid.value}"
        assert database_image(engine) == before, "nothing half-written"
    else:
        stage, outcome = _file(engine, clock, who, data, at)
        if row.outcome == "refused":
            assert isinstance(outcome, GuardRefused), f"row {row.number} was accepted: {row.edge}"
            assert outcome.rule == row.rule, f"row {row.number}: {outcome}"
            if stage == "submit":  # a refusal to open a draft outside the window names its own field
                assert outcome.field == row.field, f"row {row.number}: {outcome}"
        else:
            assert isinstance(outcome, CaseSnapshot), f"row {row.number} was refused: {outcome}"
            assert outcome.state == "pending_acceptance"
            assert outcome.amount_fen == parse_yuan(row.amount, field="amount"), f"row {row.number}: {row.edge}"


@pytest.mark.parametrize("field", ["signed_on", "service_until"])
@pytest.mark.parametrize("written", ["20240801", "2024-W31-4", "2024-08-01T00:00", "２０２４-08-01", " 2024-08-01"])
def test_sz_elig_5_a_contract_date_is_written_yyyy_mm_dd_only(
    engine: Engine, clock: ManualClock, field: str, written: str
) -> None:
    # SZ-ELIG-5: date.fromisoformat read "2024-W31-4" (an ISO week date) as 2024-08-01 and "20240801" too
    clock.set(sh(DEFAULT_MOMENT))
    data = voucher_data("1000000.00")
    data["contracts"][0][field] = written
    before = database_image(engine)
    with pytest.raises(InvalidInput) as invalid:
        engine.open_case(PROGRAM, applicant=applicant(1), data=data, actor=PLATFORM)
    assert invalid.value.field == f"data.contracts.0.{field}"
    assert database_image(engine) == before
