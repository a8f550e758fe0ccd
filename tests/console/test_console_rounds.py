"""Round overview: "deadlines this week" is the calendar week, Monday to Sunday in Asia/Shanghai."""

from __future__ import annotations

from tests.console.conftest import Console, section_text
from tests.support.longgang import STAFF, sh, submitted
from workflow.clock import SHANGHAI, ManualClock


def _awaiting_paper_from(console: Console, clock: ManualClock, serial: int, when: str) -> str:
    """A case whose 5-working-day paper deadline (LG-DL-1) starts at ``when``; returns its due day."""
    engine = console.engine
    clock.set(sh(when))
    case_id = submitted(engine, serial)
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="测试")
    (deadline,) = engine.get_case(case_id).deadlines
    return deadline.due_at.astimezone(SHANGHAI).strftime("%a %m-%d")


def test_deadlines_this_week_are_those_due_monday_to_sunday(console: Console, clock: ManualClock) -> None:
    inside = _awaiting_paper_from(console, clock, 1, "2025-08-15 09:00")
    outside = _awaiting_paper_from(console, clock, 2, "2025-08-19 09:00")
    clock.set(sh("2025-08-20 09:00"))  # a Wednesday: this week is 08-18 .. 08-24
    # due at the midnight that ends the last day: Friday 08-22 (inside), next Tuesday 08-26 (outside)
    assert (inside, outside) == ("Sat 08-23", "Wed 08-27")
    with console.signed_in() as http:
        overview = http.get("/console/rounds").text
    listed = section_text(overview, "round-1")
    assert "08-18 周一至 08-24 周日" in listed
    assert "深圳市测试科技1号有限公司" in listed
    assert "深圳市测试科技2号有限公司" not in listed, "next Tuesday is within 7 days but not this week"
