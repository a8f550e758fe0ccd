"""Webhook deliveries are chosen in the command's transaction: every change a subscription wants, once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.support.longgang import PLATFORM, STAFF, applicant, awaiting_paper, sh
from tests.support.shenzhen import PROGRAM as VOUCHER
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import notices, webhook_subscriptions


def _subscribe(engine: Engine, events: list[str], *, active: bool = True) -> int:
    with engine.database.begin() as conn:
        new = conn.execute(
            webhook_subscriptions.insert().values(
                url="http://127.0.0.1:9/hook",
                secret="s",
                events=events,
                active=active,
                created_by="admin",
                created_at=engine.clock.now(),
            )
        ).inserted_primary_key
    assert new is not None
    return int(new[0])


def _deliveries(engine: Engine) -> list[dict[str, Any]]:
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.recipient, notices.c.idempotency_key, notices.c.context)
            .where(notices.c.channel == "webhook")
            .order_by(notices.c.id)
        ).all()
    return [{"to": r.recipient, "key": r.idempotency_key, **r.context} for r in rows]


def test_every_change_reaches_an_unfiltered_subscription_even_without_notices(
    engine: Engine, clock: ManualClock
) -> None:
    everything = _subscribe(engine, [])
    _subscribe(engine, ["fund"])
    _subscribe(engine, [], active=False)
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="延期", working_days=1)
    sent = _deliveries(engine)
    assert {d["to"] for d in sent} == {str(everything)}, "filters and inactive subscriptions respected"
    assert [d["version"] for d in sent] == [1, 2, 3, 4, 5, 6], "one delivery per change, the open included"
    assert [d["change"] for d in sent][-1] == "deadline"
    assert len({d["key"] for d in sent}) == len(sent)


def test_a_change_that_queues_no_notice_still_reaches_subscribers(engine: Engine, clock: ManualClock) -> None:
    # SZ-AMT-2: withdrawing one case rebalances the applicant's other case; that change has no notice
    hook = _subscribe(engine, ["amount", "withdraw"])
    clock.set(sh("2024-11-25 10:00"))
    first = engine.open_case(VOUCHER, applicant=applicant(1), data=voucher_data("4000000.00"), actor=PLATFORM)
    second = engine.open_case(VOUCHER, applicant=applicant(1), data=voucher_data("3000000.00"), actor=PLATFORM)
    engine.fire(first.id, "withdraw", actor=PLATFORM)
    sent = [(d["case_id"], d["change"], d["event"]) for d in _deliveries(engine)]
    assert sent == [(first.id, "transition", "withdraw"), (second.id, "amount", "amount.rebalanced")]
    assert {d["to"] for d in _deliveries(engine)} == {str(hook)}
