"""SZ-REDEEM-2: each rung of the redemption reminder (30 and 7 days before 2026-12-31 24:00) goes out once per voucher.

Each return to a redeemable state (a part verified, a request returned) opens a new
``redemption_period`` deadline row with the same end; its ladder must not send again a rung the
voucher was already sent. Both databases (the ``engine`` fixture).
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, STAFF, sh
from tests.support.redemption import issued, request
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import deadlines, notices

THIRTY, SEVEN = "30_days_before", "7_days_before"


def _rungs(engine: Engine, case_id: int) -> Counter[tuple[str, str]]:
    """(rung, channel) of every redemption reminder queued for the case."""
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.context, notices.c.channel).where(
                notices.c.case_id == case_id, notices.c.kind == "redemption_ending"
            )
        ).all()
    return Counter((row.context["rung"], row.channel) for row in rows)


ONCE_EACH = Counter({(rung, channel): 1 for rung in (THIRTY, SEVEN) for channel in ("email", "sms")})


def _part(engine: Engine, case_id: int, fen: int) -> None:
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(fen))
    assert engine.fire(case_id, "verify_redemption", actor=STAFF).state == "partially_redeemed"


def _period_rows(engine: Engine, case_id: int) -> int:
    with engine.database.connect() as conn:
        query = sa.select(sa.func.count()).where(deadlines.c.case_id == case_id, deadlines.c.key == "redemption_period")
        return int(conn.execute(query).scalar_one())


def test_a_part_verified_between_the_rungs_does_not_repeat_the_30_day_reminder(
    engine: Engine, clock: ManualClock
) -> None:
    # SZ-REDEEM-2
    case_id = issued(engine, clock)
    clock.set(sh("2026-12-01 09:00"))
    assert engine.send_due_reminders() == 1
    clock.set(sh("2026-12-03 10:00"))
    _part(engine, case_id, 50_000_000)
    assert engine.send_due_reminders() == 0, "the 30-day rung was sent to this voucher already"
    clock.set(sh("2026-12-24 09:00"))
    assert engine.send_due_reminders() == 1
    clock.set(sh("2026-12-31 23:00"))
    assert engine.send_due_reminders() == 0
    assert _rungs(engine, case_id) == ONCE_EACH


def test_parts_verified_and_a_request_returned_around_both_rungs_send_each_rung_once(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # SZ-REDEEM-2: partial verifications before, between and after the rungs, and a return
    case_id = issued(engine, clock)
    clock.set(sh("2026-06-01 10:00"))
    _part(engine, case_id, 10_000_000)
    for moment in ("2026-12-01 09:00", "2026-12-02 10:00", "2026-12-10 10:00"):
        clock.set(sh(moment))
        engine.send_due_reminders()
        _part(engine, case_id, 10_000_000)
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(10_000_000))
    engine.fire(case_id, "return_redemption", actor=STAFF, payload={"reason": "发票不清晰"})
    engine.send_due_reminders()
    for moment in ("2026-12-24 09:00", "2026-12-25 10:00", "2026-12-28 10:00"):
        clock.set(sh(moment))
        engine.send_due_reminders()
        _part(engine, case_id, 10_000_000)
        engine.send_due_reminders()
    assert _period_rows(engine, case_id) >= 8, "each return to a redeemable state opened a new deadline row"
    assert _rungs(engine, case_id) == ONCE_EACH
    assert_invariants(engine, audit_key)


def test_a_part_verified_after_the_7_day_rung_does_not_repeat_it(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-2
    case_id = issued(engine, clock)
    clock.set(sh("2026-12-01 09:00"))
    engine.send_due_reminders()
    clock.set(sh("2026-12-24 09:00"))
    engine.send_due_reminders()
    clock.set(sh("2026-12-26 10:00"))
    _part(engine, case_id, 50_000_000)
    assert engine.send_due_reminders() == 0
    assert _rungs(engine, case_id) == ONCE_EACH
