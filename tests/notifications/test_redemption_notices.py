"""The voucher's redemption notices, rendered from the outbox rows a real round queues (SZ-REDEEM-1, SZ-REDEEM-2).

The template samples elsewhere have no money figures; these are the contexts the engine stores:
what was redeemed this time, in total, what is left, and what lapsed.
"""

from __future__ import annotations

import sqlalchemy as sa

from notifications.context import build_context
from notifications.rendering import Renderer, sms_segments
from tests.support.longgang import PLATFORM, STAFF, sh
from tests.support.redemption import issued, request
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import notices

RENDERER = Renderer()


def _rendered(engine: Engine, case_id: int, kind: str) -> list[tuple[str, str]]:
    """Each queued notice of ``kind`` as (sms, email text), oldest first."""
    process = engine.programs.get(engine.get_case(case_id).program)
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.channel, notices.c.context)
            .where(notices.c.case_id == case_id, notices.c.kind == kind)
            .order_by(notices.c.id)
        ).all()
    out: dict[str, list[str]] = {"sms": [], "email": []}
    for channel, stored in rows:
        context = build_context(stored, process, kind=kind, channel=channel)
        if channel == "sms":
            out["sms"].append(RENDERER.sms(process.definition, kind, context))
        else:
            out["email"].append(RENDERER.email(process.definition, kind, context).text)
    return list(zip(out["sms"], out["email"], strict=True)) if out["sms"] else [("", t) for t in out["email"]]


def test_verified_and_expired_notices_say_the_amounts(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-1: a verified part says what was redeemed, in total and what is left; SZ-REDEEM-2: what lapsed
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(120_000_000))
    (_, staff), *_ = _rendered(engine, case_id, "redemption_requested")
    assert "尚可兑现：人民币2,000,000.00元" in staff
    engine.fire(case_id, "verify_redemption", actor=STAFF)
    ((sms, text),) = _rendered(engine, case_id, "redemption_verified")
    assert "本次兑现1,200,000.00元" in text
    assert "累计已兑现1,200,000.00元，剩余可兑现800,000.00元" in text
    assert "2026年12月31日24:00" in text
    assert "余额800,000.00元" in sms
    assert sms_segments(sms) == 1
    clock.set(sh("2027-01-01 00:00"))
    engine.expire_due()
    ((sms, text),) = _rendered(engine, case_id, "voucher_expired")
    assert "未兑现部分800,000.00元已失效" in text
    assert "已兑现1,200,000.00元，失效800,000.00元" in text
    assert "800,000.00元" in sms
    assert sms_segments(sms) == 1
