"""The Longgang guide's edges as one table (issue 12, "Edges as tables"), on both databases.

The table is ``longgang_edges.md`` beside this file, written for a reviewer who does not read
Python: one row per edge (instant, amount, applicant kind), its expected outcome and rule ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused
from workflow.views import CaseSnapshot

EDGES = (Path(__file__).parent / "longgang_edges.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Edge:
    edge: str
    action: str
    sms: str
    at: str
    applicant: str
    fees: str
    expect: str
    rule: str
    amount: str


def _rows(table: str) -> list[Edge]:
    lines = [line for line in table.splitlines() if line.startswith("|") and not line.startswith("|--")]
    return [Edge(*(cell.strip() for cell in line.strip("|").split("|"))) for line in lines[1:]]


ROWS = _rows(EDGES)


def _scene(engine: Engine, clock: ManualClock, row: Edge) -> Callable[[], CaseSnapshot]:
    """Set the scene for ``row`` and return its action, to be run at its instant."""
    data = complete_data(fees_cny=row.fees)
    who = applicant(kind=row.applicant)
    if row.action == "open":
        clock.set(sh(row.at))
        return lambda: engine.open_case(PROGRAM, applicant=who, data=data, actor=PLATFORM)
    clock.set(sh("2025-08-12 10:00") if row.action == "submit" else sh("2025-08-20 09:00"))
    case_id = engine.open_case(PROGRAM, applicant=who, data=data, actor=PLATFORM).id
    if row.action == "submit":
        clock.set(sh(row.at))
        return lambda: engine.fire(case_id, "submit", actor=PLATFORM)
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
    if row.action == "paper":
        clock.set(sh(row.sms))
        engine.fire(case_id, "approve_on_portal", actor=PLATFORM)
        clock.set(sh(row.at))
        return lambda: engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 1})
    assert row.action == "publicity", row
    engine.fire(case_id, "approve_on_portal", actor=PLATFORM)
    engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": 1})
    clock.set(sh(row.at))
    return lambda: engine.fire(case_id, "start_publicity", actor=STAFF)


@pytest.mark.parametrize("row", ROWS, ids=[r.edge for r in ROWS])
def test_longgang_edge(engine: Engine, clock: ManualClock, row: Edge) -> None:
    # LG-WIN-1, LG-ELIG-1, LG-AMT-1, LG-AMT-2, LG-DL-1, LG-FLOW-6: one row of longgang_edges.md
    action = _scene(engine, clock, row)
    before = database_image(engine)
    if row.expect == "refused":
        with pytest.raises(GuardRefused) as refused:
            action()
        assert refused.value.rule == row.rule, refused.value
        assert database_image(engine) == before, "a refusal writes nothing"
        return
    case = action()
    assert case.state == row.expect
    if row.amount:
        assert case.amount_fen is not None
        assert f"{case.amount_fen // 100:,}.{case.amount_fen % 100:02d}" == row.amount


def test_the_table_covers_every_action_and_outcome() -> None:
    # the table is the specification: keep every kind of row in it
    assert len(ROWS) >= 20
    assert {r.action for r in ROWS} == {"open", "submit", "paper", "publicity"}
    assert {r.expect for r in ROWS} >= {"refused", "draft", "online_review", "evaluation", "publicity"}
