"""The voucher after issue: redeemed with proofs, in parts, never above it (SZ-REDEEM-1); expiry (SZ-REDEEM-2).

Both databases (the ``engine`` fixture). Every refusal names its rule and field and writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from states.shenzhen_training_voucher_2024.redemption import PROOFS
from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, STAFF, applicant, sh
from tests.support.redemption import VOUCHER_FEN, filed, issue, issued, request
from tests.support.shenzhen import PROGRAM, voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput, NotPermitted
from workflow.tables import notices


def _kinds(engine: Engine, case_id: int) -> list[str]:
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.kind).where(notices.c.case_id == case_id, notices.c.channel == "email")
        ).scalars()
        return list(rows)


def _refused(engine: Engine, case_id: int, event: str, actor: Any, payload: dict[str, Any]) -> GuardRefused:
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, event, actor=actor, payload=payload)
    assert database_image(engine) == before, "a refused command writes nothing"
    return refused.value


def test_voucher_is_redeemed_in_two_parts_never_above_it(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # SZ-REDEEM-1: proofs, staff verify, in parts, the remainder stays redeemable, never above the voucher
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    case = engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(120_000_000))
    assert (case.state, case.final) == ("redemption_requested", False)
    case = engine.fire(case_id, "verify_redemption", actor=STAFF)
    assert (case.state, case.amount_fen) == ("partially_redeemed", VOUCHER_FEN)
    assert case.data["redemption"]["redeemed_fen"] == 120_000_000
    assert "redemption_period" in {d.key for d in case.deadlines}, "the remainder stays redeemable until the end"

    refused = _refused(engine, case_id, "request_redemption", PLATFORM, request(80_000_001))
    assert (refused.rule, refused.field) == ("SZ-REDEEM-1", "payload.redeem_fen")
    assert "800,000.00" in str(refused)

    clock.set(sh("2026-03-02 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(80_000_000, service_until="2026-02-28"))
    refused = _refused(engine, case_id, "verify_redemption", STAFF, {})
    assert (refused.rule, refused.field) == ("SZ-REDEEM-1", "payload.redeem_fen")  # it would use up the rest
    case = engine.fire(case_id, "verify_redemption_in_full", actor=STAFF)
    assert (case.state, case.final) == ("redeemed", False)  # a clawback may still follow (SZ-CLAW-1)
    ledger = case.data["redemption"]
    assert ledger["redeemed_fen"] == VOUCHER_FEN
    assert [p["redeem_fen"] for p in ledger["parts"]] == [120_000_000, 80_000_000]
    assert _kinds(engine, case_id).count("redemption_verified") == 2
    events = [(e.event, e.to_state) for e in engine.history(case_id)][-4:]
    assert events == [
        ("request_redemption", "redemption_requested"),
        ("verify_redemption", "partially_redeemed"),
        ("request_redemption", "redemption_requested"),
        ("verify_redemption_in_full", "redeemed"),
    ]
    last = engine.history(case_id)[-1]
    assert last.old_values["data"]["redemption"]["redeemed_fen"] == 120_000_000  # every step audited
    assert last.new_values["data"]["redemption"]["redeemed_fen"] == VOUCHER_FEN
    assert_invariants(engine, audit_key)


def test_a_request_above_the_voucher_is_refused(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-1: never above the voucher, named with its field
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    refused = _refused(engine, case_id, "request_redemption", PLATFORM, request(VOUCHER_FEN + 1))
    assert (refused.rule, refused.field) == ("SZ-REDEEM-1", "payload.redeem_fen")
    assert "2,000,000.00" in str(refused)


@pytest.mark.parametrize("field", ["redeem_fen", "service_from", "service_until", *(p.key for p in PROOFS)])
def test_every_proof_and_the_audit_consent_are_required(engine: Engine, clock: ManualClock, field: str) -> None:
    # SZ-REDEEM-1: training data sets, algorithms, application scenarios, compute-audit consent (训力审计同意书),
    # with the amount and the service period (SZ-REDEEM-2): the request's payload checklist names the missing one
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    payload = request(50_000_000)
    del payload[field]
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=payload)
    assert refused.value.field == f"payload.{field}"
    assert database_image(engine) == before


def test_what_may_be_fired_after_issue(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-1: the request is offered to the applicant side; staff see the one verification that fits
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    options = {o.name: o for o in engine.available_events(case_id, actor=PLATFORM)}
    assert options["request_redemption"].allowed
    assert "audit_consent" in options["request_redemption"].requires
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(50_000_000))
    allowed = {o.name for o in engine.available_events(case_id, actor=STAFF) if o.allowed}
    assert allowed == {"verify_redemption", "return_redemption", "open_clawback"}  # SZ-CLAW-1 from any issued state
    engine.fire(case_id, "return_redemption", actor=STAFF, payload={"reason": "证明不足"})
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(VOUCHER_FEN))
    allowed = {o.name for o in engine.available_events(case_id, actor=STAFF) if o.allowed}
    assert allowed == {"verify_redemption_in_full", "return_redemption", "open_clawback"}


def test_staff_verify_less_than_requested_never_more(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-1
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(100_000_000))
    refused = _refused(engine, case_id, "verify_redemption", STAFF, {"redeem_fen": 100_000_001})
    assert (refused.rule, refused.field) == ("SZ-REDEEM-1", "payload.redeem_fen")
    with pytest.raises(NotPermitted):
        engine.fire(case_id, "verify_redemption", actor=PLATFORM)
    case = engine.fire(case_id, "verify_redemption", actor=STAFF, payload={"redeem_fen": 60_000_000})
    part = case.data["redemption"]["parts"][0]
    assert (part["redeem_fen"], part["requested_fen"]) == (60_000_000, 100_000_000)


def test_returned_request_redeems_nothing_and_may_come_again(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-1: staff return a request with a reason; the applicant is told; the voucher is untouched
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(100_000_000))
    with pytest.raises(InvalidInput) as missing:
        engine.fire(case_id, "return_redemption", actor=STAFF)
    assert missing.value.field == "payload.reason"
    case = engine.fire(case_id, "return_redemption", actor=STAFF, payload={"reason": "应用场景证明不足"})
    assert case.state == "redemption_returned"
    assert case.data["redemption"]["redeemed_fen"] == 0
    assert case.data["redemption"]["returned"][0]["reason"] == "应用场景证明不足"
    assert "redemption_returned" in _kinds(engine, case_id)
    case = engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(VOUCHER_FEN))
    assert engine.fire(case_id, "verify_redemption_in_full", actor=STAFF).state == "redeemed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_from": "2024-07-30"}, "payload.service_from"),
        ({"service_until": "2027-01-01"}, "payload.service_until"),
        ({"service_until": "2025-09-11"}, "payload.service_until"),  # not completed yet (today is 09-10)
        ({"service_from": "2025-09-01", "service_until": "2025-08-31"}, "payload.service_until"),
    ],
)
def test_service_must_be_performed_in_the_period(
    engine: Engine, clock: ManualClock, changes: dict[str, Any], field: str
) -> None:
    # SZ-REDEEM-2: service performed between 2024-07-31 and 2026-12-31, and completed
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    refused = _refused(engine, case_id, "request_redemption", PLATFORM, request(50_000_000, **changes))
    assert (refused.rule, refused.field) == ("SZ-REDEEM-2", field)


def test_unredeemed_voucher_expires_at_the_end_of_2026(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # SZ-REDEEM-2: the scheduler's sweep expires it at 2026-12-31 24:00 Asia/Shanghai; the applicant is told
    case_id = issued(engine, clock)
    clock.set(sh("2026-12-31 23:59:59"))
    assert engine.expire_due() == []
    clock.set(sh("2027-01-01 00:00"))
    assert engine.expire_due() == [(case_id, "redemption_period")]
    case = engine.get_case(case_id)
    assert (case.state, case.final, case.amount_fen) == ("voucher_expired", False, VOUCHER_FEN)  # SZ-CLAW-1 may follow
    assert case.data["redemption"]["expired_fen"] == VOUCHER_FEN
    assert "voucher_expired" in _kinds(engine, case_id)
    assert_invariants(engine, audit_key)


def test_partly_redeemed_voucher_expires_for_the_rest(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-2: a late request is refused by the clock even before a sweep; the rest lapses
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(50_000_000))
    engine.fire(case_id, "verify_redemption", actor=STAFF)
    clock.set(sh("2027-01-01 08:00"))
    refused = _refused(engine, case_id, "request_redemption", PLATFORM, request(10_000_000))
    assert (refused.rule, refused.field) == ("SZ-REDEEM-2", "deadlines.redemption_period")
    assert engine.expire_due() == [(case_id, "redemption_period")]
    case = engine.get_case(case_id)
    assert case.state == "voucher_expired"
    assert (case.data["redemption"]["redeemed_fen"], case.data["redemption"]["expired_fen"]) == (
        50_000_000,
        150_000_000,
    )


def test_a_request_pending_at_the_end_is_still_decided(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-2: a request filed in the period is verified after it; only the rest then lapses
    case_id = issued(engine, clock)
    clock.set(sh("2026-12-30 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(50_000_000, service_until="2026-12-29"))
    clock.set(sh("2027-01-05 10:00"))
    assert engine.expire_due() == []
    assert engine.fire(case_id, "verify_redemption", actor=STAFF).state == "partially_redeemed"
    assert engine.expire_due() == [(case_id, "redemption_period")]
    assert engine.get_case(case_id).data["redemption"]["expired_fen"] == 150_000_000


def test_reminders_before_the_period_ends(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-2: reminders 30 and 7 days before 2026-12-31 24:00
    case_id = issued(engine, clock)
    clock.set(sh("2026-12-01 08:59"))
    assert engine.send_due_reminders() == 0
    clock.set(sh("2026-12-01 09:00"))
    assert engine.send_due_reminders() == 1
    clock.set(sh("2026-12-24 09:00"))
    assert engine.send_due_reminders() == 1
    assert _kinds(engine, case_id).count("redemption_ending") == 2


def test_the_annual_cap_keeps_counting_what_was_granted(engine: Engine, clock: ManualClock) -> None:
    # SZ-AMT-2: redemption and expiry change nothing in the cap: the granted voucher stays spent
    first = filed(engine, clock)
    second = engine.open_case(PROGRAM, applicant=applicant(1), data=voucher_data("3000000.00"), actor=PLATFORM).id
    engine.fire(second, "submit", actor=PLATFORM)
    issue(engine, clock, first)
    assert engine.get_case(second).state == "pending_acceptance"
    assert engine.get_case(second).amount_fen == 100_000_000  # 3,000,000 cap - 2,000,000 granted
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(first, "request_redemption", actor=PLATFORM, payload=request(50_000_000))
    engine.fire(first, "verify_redemption", actor=STAFF)
    assert engine.get_case(second).amount_fen == 100_000_000
    clock.set(sh("2027-01-01 00:00"))
    assert (first, "redemption_period") in engine.expire_due()
    assert engine.get_case(first).amount_fen == VOUCHER_FEN
    assert engine.get_case(second).amount_fen == 100_000_000
    explained = engine.explain_amount(second)
    assert explained is not None
    assert explained.fen == 100_000_000


def test_figures_follow_a_staff_override(engine: Engine, clock: ManualClock) -> None:
    # SZ-REDEEM-2: staff may force a voucher expired (or back), with a reason; the money figures follow the state
    case_id = issued(engine, clock)
    clock.set(sh("2025-09-10 10:00"))
    engine.fire(case_id, "request_redemption", actor=PLATFORM, payload=request(50_000_000))
    engine.fire(case_id, "verify_redemption", actor=STAFF)
    figures = engine.programs.get(PROGRAM).definition.figures
    assert figures is not None
    engine.override(case_id, "voucher_expired", actor=STAFF, reason="合同已解除，余额不再兑现")
    case = engine.get_case(case_id)
    assert figures(case.state, case.data, case.amount_fen) == {
        "granted_fen": VOUCHER_FEN,
        "redeemed_fen": 50_000_000,
        "expired_fen": 150_000_000,
        "remaining_fen": 0,
    }
    engine.override(case_id, "partially_redeemed", actor=STAFF, reason="误操作，恢复")
    case = engine.get_case(case_id)
    assert figures(case.state, case.data, case.amount_fen)["remaining_fen"] == 150_000_000
