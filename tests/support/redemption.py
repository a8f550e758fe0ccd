"""Shenzhen vouchers taken to issue, and redemption requests (SZ-REDEEM-1/2 tests)."""

from __future__ import annotations

from typing import Any

from states.shenzhen_training_voucher_2024.redemption import PROOFS
from tests.support.longgang import PLATFORM, STAFF, applicant, sh
from tests.support.shenzhen import PROGRAM, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine

VOUCHER_FEN = 200_000_000  # 50% of the example's 4,000,000.00 CNY contract (SZ-AMT-1)


def filed(engine: Engine, clock: ManualClock, data: dict[str, Any] | None = None, serial: int = 1) -> int:
    """A case of applicant ``serial`` submitted in the 2024 window."""
    clock.set(sh("2024-11-25 10:00"))
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=data or voucher_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id


def issue(engine: Engine, clock: ManualClock, *case_ids: int) -> None:
    """Filed cases taken together to ``voucher_issued``, issued 2024-12-20 (in submission order, SZ-FLOW-3)."""
    for event in ("accept", "pass_preliminary", "pass_expert_review"):
        for case_id in case_ids:
            engine.fire(case_id, event, actor=STAFF)
    clock.set(sh("2024-12-20 09:00"))
    engine.expire_due()
    for number, case_id in enumerate(case_ids, 1):
        engine.fire(case_id, "approve", actor=STAFF)
        document = {"approval_document": f"深科技创新〔2024〕{number}号"}
        assert engine.fire(case_id, "issue_voucher", actor=STAFF, payload=document).state == "voucher_issued"


def issued(engine: Engine, clock: ManualClock) -> int:
    """A new case of applicant 1 taken to ``voucher_issued``."""
    case_id = filed(engine, clock)
    issue(engine, clock, case_id)
    return case_id


def request(fen: int, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "redeem_fen": fen,
        "service_from": "2024-09-01",
        "service_until": "2025-08-31",
        **{proof.key: f"{proof.key}-证明材料.pdf" for proof in PROOFS},
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def redeemed_and_expired(engine: Engine, clock: ManualClock) -> tuple[int, int]:
    """Two vouchers of 2,000,000.00: one redeemed 1,200,000.00 then expired for the rest, one expired unredeemed."""
    first, second = filed(engine, clock, serial=1), filed(engine, clock, serial=3)
    issue(engine, clock, first, second)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(first, "request_redemption", actor=PLATFORM, payload=request(120_000_000))
    engine.fire(first, "verify_redemption", actor=STAFF)
    clock.set(sh("2027-01-01 00:10"))
    assert len(engine.expire_due()) == 2
    return first, second
