"""LG-FLOW-1..6 and LG-NOTE-1: the whole path a Longgang case takes, and the notices it queues."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tests.support.invariants import assert_invariants
from tests.support.longgang import APPLICANT, PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import notices

FULL_PATH = [
    ("submit", PLATFORM, {}, "online_review"),  # LG-FLOW-1
    ("return_for_correction", STAFF, {"reason": "请补充算力使用报告"}, "returned"),  # LG-FLOW-2
    ("resubmit", APPLICANT, {}, "online_review"),  # LG-FLOW-2
    ("pass_online_review", STAFF, {}, "online_approved"),  # LG-FLOW-3
    ("file_on_portal", PLATFORM, {}, "portal_review"),  # LG-FLOW-4
    ("approve_on_portal", PLATFORM, {}, "awaiting_paper"),  # LG-FLOW-5
    ("receive_paper", STAFF, {"service_window": 1}, "evaluation"),  # LG-FLOW-5
    ("start_publicity", STAFF, {}, "publicity"),  # LG-FLOW-6
]


AFTER_WINDOW = sh("2025-09-15 09:00")


def _step(clock: ManualClock, event: str) -> None:
    """LG-FLOW-6: publicity starts only after the filing period has ended."""
    if event == "start_publicity" and clock.now() < AFTER_WINDOW:
        clock.set(AFTER_WINDOW)


def _end_publicity(engine: Engine, clock: ManualClock) -> None:
    """The publicity period (5 working days by default) runs out; the sweep moves the case on."""
    clock.advance(timedelta(days=10))
    assert [key for _, key in engine.expire_due()] == ["publicity_period"]


def _notice_kinds(engine: Engine, case_id: int, *, staff: bool = False) -> list[tuple[str, str]]:
    """The notices queued for the applicant (or, with ``staff``, for the staff mailbox)."""
    audience = notices.c.recipient == "staff" if staff else notices.c.recipient != "staff"
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.kind, notices.c.channel)
            .where(notices.c.case_id == case_id, audience)
            .order_by(notices.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_case_goes_from_draft_to_funded(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # LG-FLOW-1, LG-FLOW-2, LG-FLOW-3, LG-FLOW-4, LG-FLOW-5, LG-FLOW-6
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=APPLICANT)
    assert (case.state, case.version, case.state_label) == ("draft", 1, "草稿（未提交）")
    for event, actor, payload, expected in FULL_PATH:
        clock.advance(timedelta(hours=1))
        _step(clock, event)
        case = engine.fire(case.id, event, actor=actor, payload=payload, expected_version=case.version)
        assert case.state == expected, event
    _end_publicity(engine, clock)
    assert engine.get_case(case.id).state == "awaiting_decision"
    case = engine.fire(case.id, "fund", actor=STAFF)
    assert case.final is False  # a clawback may follow (LG-CLAW-1)
    assert case.amount_fen == 36_000_000
    history = engine.history(case.id)
    assert [h.event for h in history] == [None, *[step[0] for step in FULL_PATH], "publicity_ended", "fund"]
    assert (history[-2].role, history[-2].kind) == ("system", "system")
    assert history[2].reason == "请补充算力使用报告"
    assert all(h.at.tzinfo is not None for h in history)
    assert_invariants(engine, audit_key)


def test_every_decision_queues_sms_and_email(engine: Engine, clock: ManualClock) -> None:
    # LG-NOTE-1: the portal-approval notice (starting the 5-day clock) and every decision reach the applicant
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    for event, actor, payload, _ in FULL_PATH:
        _step(clock, event)
        engine.fire(case.id, event, actor=actor, payload=payload)
    _end_publicity(engine, clock)
    engine.fire(case.id, "fund", actor=STAFF)
    kinds = _notice_kinds(engine, case.id)
    expected = [
        "submission_received",
        "returned_for_correction",
        "submission_received",
        "passed_online_review",
        "portal_filed",
        "portal_approved",
        "paper_received",
        "publicity_started",
        "funded",
    ]
    assert kinds == [(k, ch) for k in expected for ch in ("sms", "email")]
    assert _notice_kinds(engine, case.id, staff=True) == [("new_submission", "email")] * 2, (
        "staff hear of (re)submissions"
    )


def test_a_case_without_a_phone_gets_email_only_and_the_audit_says_so(engine: Engine) -> None:
    # LG-NOTE-1
    case = engine.open_case(PROGRAM, applicant=applicant(phone=False), data=complete_data(), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    assert _notice_kinds(engine, case.id) == [("submission_received", "email")]
    last = engine.history(case.id)[-1]
    assert last.new_values["notices_skipped"] == ["submission_received/sms: no phone on the case"]


def test_portal_approval_notice_carries_the_paper_deadline(engine: Engine, clock: ManualClock) -> None:
    # LG-NOTE-1 and LG-DL-1: the SMS that starts the clock names the due date
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    for event, actor, payload, _ in FULL_PATH[:5]:
        engine.fire(case.id, event, actor=actor, payload=payload)
    clock.set(sh("2025-09-26 10:00"))
    engine.fire(case.id, "approve_on_portal", actor=STAFF)
    with engine.database.connect() as conn:
        context = (
            conn.execute(
                sa.select(notices.c.context).where(notices.c.case_id == case.id, notices.c.kind == "portal_approved")
            )
            .scalars()
            .first()
        )
    assert context["deadlines"] == {"paper_delivery": "2025-10-10T16:00:00+00:00"}


def test_withdrawal_and_rejection_are_final(engine: Engine) -> None:
    # LG-FLOW-6: the decision may also be a rejection, with its reason
    withdrawn = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    assert engine.fire(withdrawn.id, "withdraw", actor=APPLICANT).final
    rejected = engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM)
    engine.fire(rejected.id, "submit", actor=PLATFORM)
    done = engine.fire(rejected.id, "reject", actor=STAFF, payload={"reason": "供给方与申报单位存在关联关系"})
    assert (done.state, done.final) == ("rejected", True)
    assert engine.available_events(done.id, actor=STAFF) == []


def _in_publicity(engine: Engine, clock: ManualClock, when: str) -> int:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=APPLICANT)
    for event, actor, payload, _ in FULL_PATH[:-1]:
        engine.fire(case.id, event, actor=actor, payload=payload)
    clock.set(sh(when))
    return engine.fire(case.id, "start_publicity", actor=STAFF).id


def test_publicity_ends_by_itself_after_five_working_days(engine: Engine, clock: ManualClock) -> None:
    # LG-FLOW-6: published Thu 2025-09-25: 26, Sun 28 (make-up), 29, 30, then Oct 1-8 off, Thu Oct 9
    case_id = _in_publicity(engine, clock, "2025-09-25 15:00")
    (period,) = engine.get_case(case_id).deadlines
    assert (period.key, period.due_at) == ("publicity_period", sh("2025-10-10 00:00"))
    clock.set(sh("2025-10-09 23:59:59"))
    assert engine.expire_due() == []
    clock.set(sh("2025-10-10 00:00"))
    assert engine.expire_due() == [(case_id, "publicity_period")]
    last = engine.history(case_id)[-1]
    assert (last.event, last.to_state, last.kind, last.actor) == (
        "publicity_ended",
        "awaiting_decision",
        "system",
        "filingflow",
    )


def test_an_objection_holds_the_case_for_staff(engine: Engine, clock: ManualClock, audit_key: bytes) -> None:
    # LG-FLOW-6: an objection during publicity is recorded and the period no longer moves the case on
    case_id = _in_publicity(engine, clock, "2025-09-25 15:00")
    clock.set(sh("2025-09-29 10:00"))
    reason = "有群众反映该企业算力合同金额与实际支付不符"
    held = engine.fire(case_id, "raise_objection", actor=PLATFORM, payload={"reason": reason})
    assert (held.state, held.deadlines) == ("objection_review", ())
    assert engine.history(case_id)[-1].reason == reason
    assert ("objection_raised", "email") in _notice_kinds(engine, case_id, staff=True)
    clock.set(sh("2025-10-20 10:00"))
    assert engine.expire_due() == [], "the publicity period was closed by the objection"
    assert engine.get_case(case_id).state == "objection_review", "held for staff"
    resolved = engine.fire(case_id, "resolve_objection", actor=STAFF, payload={"reason": "经核查，异议不成立"})
    assert resolved.state == "awaiting_decision"
    assert_invariants(engine, audit_key)
