"""`audit verify` compares instants as instants: a clock in +08:00 verifies, a moved instant is still caught.

The case row stores its instants in UTC (``UTCDateTime``), while the trail keeps the text the
command wrote (``now.isoformat()``). A clock that hands out Asia/Shanghai instants, or a row
read back with another offset, is the same moment written differently, not tampering.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.audit import verify_chains
from workflow.clock import SHANGHAI, ManualClock
from workflow.engine import Engine
from workflow.tables import audit_events, cases, deadlines


class ShanghaiClock:
    """A real :class:`~workflow.clock.Clock` whose instants carry +08:00, as a server set to Asia/Shanghai might."""

    def __init__(self, start: datetime) -> None:
        self.manual = ManualClock(start)

    def now(self) -> datetime:
        return self.manual.now().astimezone(SHANGHAI)


@pytest.fixture
def shanghai_engine(settings: Settings) -> Iterator[Engine]:
    built = bootstrap(settings, clock=ShanghaiClock(sh("2025-08-20 09:00")))
    yield built
    built.database.dispose()


def _case_through_the_paper_stage(engine: Engine) -> int:
    clock = engine.clock
    assert isinstance(clock, ShanghaiClock)
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
        clock.manual.advance(timedelta(hours=1))
    clock.manual.set(sh("2025-09-26 10:00"))
    engine.fire(case_id, "approve_on_portal", actor=STAFF)  # opens the paper deadline (LG-DL-1)
    return case_id


def _verify(engine: Engine, audit_key: bytes) -> list[str]:
    with engine.database.connect() as conn:
        return [str(link) for link in verify_chains(conn, audit_key, programs=engine.programs).broken]


def test_a_case_written_by_a_clock_in_plus_eight_verifies(shanghai_engine: Engine, audit_key: bytes) -> None:
    case_id = _case_through_the_paper_stage(shanghai_engine)
    with shanghai_engine.database.connect() as conn:
        (submitted,) = conn.execute(
            sa.select(audit_events.c.new_values["submitted_at"].as_string()).where(
                audit_events.c.case_id == case_id, audit_events.c.event == "submit"
            )
        ).one()
    assert submitted.endswith("+08:00"), "the trail keeps the instant as the clock wrote it"
    assert _verify(shanghai_engine, audit_key) == []


def test_a_real_edit_of_the_submission_instant_is_still_caught(shanghai_engine: Engine, audit_key: bytes) -> None:
    case_id = _case_through_the_paper_stage(shanghai_engine)
    with shanghai_engine.database.begin() as conn:
        stored = conn.execute(sa.select(cases.c.submitted_at).where(cases.c.id == case_id)).scalar_one()
        conn.execute(cases.update().where(cases.c.id == case_id).values(submitted_at=stored - timedelta(seconds=1)))
    (problem,) = _verify(shanghai_engine, audit_key)
    assert f"case {case_id}: case row differs from its trail: submitted_at is" in problem


def test_a_real_edit_of_a_due_instant_is_still_caught(shanghai_engine: Engine, audit_key: bytes) -> None:
    case_id = _case_through_the_paper_stage(shanghai_engine)
    with shanghai_engine.database.begin() as conn:
        conn.execute(
            deadlines.update()
            .where(deadlines.c.case_id == case_id, deadlines.c.key == "paper_delivery")
            .values(due_at=sh("2025-10-11 00:00") + timedelta(minutes=1))
        )
    (problem,) = _verify(shanghai_engine, audit_key)
    assert "deadline 'paper_delivery' is due" in problem
