"""workflow.read_model: the one place the API's case list and the console's queue, overview and exports read.

On both databases: filters (program, state(s), applicant code, name or code search, next deadline
before / by an instant), the three orders (submission order is SZ-FLOW-3's), paging with the total,
counts per state, and "next due" counting a suspended deadline only when asked for open ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, complete_data, sh, uscc
from workflow import read_model
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.read_model import CaseQuery


def _ids(engine: Engine, **query: object) -> list[int]:
    rows, _ = read_model.case_page(engine.database, CaseQuery(**query))  # type: ignore[arg-type]
    return [row["id"] for row in rows]


def test_filters_orders_and_paging(engine: Engine, clock: ManualClock) -> None:
    paper, late, early = (
        engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
        for serial in (1, 2, 3)
    )
    for case_id in (paper, early, late):
        engine.fire(case_id, "submit", actor=PLATFORM)
        clock.advance(timedelta(minutes=1))
    engine.fire(paper, "pass_online_review", actor=STAFF)
    engine.fire(paper, "file_on_portal", actor=PLATFORM)
    clock.set(sh("2025-09-26 10:00"))
    engine.fire(paper, "approve_on_portal", actor=STAFF)  # LG-DL-1 due 2025-10-10 24:00

    assert _ids(engine, program=PROGRAM) == [paper, late, early]
    assert _ids(engine, program=PROGRAM, order="submitted") == [paper, early, late], "SZ-FLOW-3's order"
    assert _ids(engine, program=PROGRAM, order="due")[0] == paper, "the soonest next deadline first"
    assert _ids(engine, state="awaiting_paper") == [paper]
    assert _ids(engine, states=("awaiting_paper", "online_review")) == [paper, late, early]
    assert _ids(engine, applicant_code=f" {uscc(3).lower()} ") == [early]
    assert _ids(engine, search="2号") == [late]
    due = sh("2025-10-11 00:00")
    assert _ids(engine, due_before=due) == [], "due at 10-11 00:00 is not before it"
    assert _ids(engine, due_by=due) == [paper]
    rows, total = read_model.case_page(engine.database, CaseQuery(program=PROGRAM, limit=2, offset=2))
    assert ([r["id"] for r in rows], total) == ([early], 3)
    assert read_model.state_counts(engine.database, PROGRAM) == {"awaiting_paper": 1, "online_review": 2}
    with pytest.raises(ValueError, match="order"):
        read_model.case_page(engine.database, CaseQuery(order="name"))


def test_next_due_counts_a_suspended_deadline_only_among_open_ones(engine: Engine, clock: ManualClock) -> None:
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    engine.suspend_deadline(case_id, deadline_id, actor=STAFF, reason="材料补正中")
    running = read_model.case_rows(engine.database, CaseQuery(running_only=True))
    assert [r["next_due"] for r in running] == [None]
    assert (
        read_model.running_deadlines_due(
            engine.database, PROGRAM, after=sh("2025-09-01 00:00"), until=sh("2025-12-31 00:00")
        )
        == []
    )
