"""``filingflow demo``: a 2025 Longgang round and a 2024 Shenzhen voucher round on a manual clock.

Longgang: one case funded end to end; one returned for correction and resubmitted after
the window closed (LG-WIN-2); one that misses the 5-working-day paper deadline across
National Day (LG-DL-1); one left in draft when the window closes (LG-WIN-1); one funded, then
clawed back for a forged contract and recovered, which lists the enterprise (LG-CLAW-1). Shenzhen:
two cases of one SME, the second hitting the annual cap (SZ-AMT-2), advanced in batches
in submission order (SZ-FLOW-3); the first voucher redeemed in two parts (SZ-REDEEM-1), the
second expiring unredeemed at the end of 2026 (SZ-REDEEM-2). Deadlines are expired by the same sweep the scheduler runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.timeline import render_timeline
from states.longgang_ai_compute_2025 import LONGGANG_2025
from states.longgang_ai_compute_2025.data import EXAMPLE
from states.shenzhen_training_voucher_2024 import SHENZHEN_2024
from states.shenzhen_training_voucher_2024.data import EXAMPLE as VOUCHER_EXAMPLE
from workflow.applicants import uscc_check_digit
from workflow.clock import SHANGHAI, ManualClock
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.money import format_yuan
from workflow.views import CaseSnapshot

PLATFORM = Actor("longgang-platform", "platform", "demo")
REVIEWER = Actor("reviewer-li", "staff", "demo")
PROGRAM = LONGGANG_2025.key


def _code(serial: int) -> str:
    first17 = f"9144030{serial:010d}"
    return first17 + uscc_check_digit(first17)


def _applicant(serial: int, name: str, *, phone: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "code": _code(serial),
        "email": f"filing{serial}@example.cn",
        "phone": f"1380013{serial:04d}" if phone else None,
    }


def at(clock: ManualClock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=SHANGHAI))


def _voucher_round(engine: Engine, clock: ManualClock) -> list[int]:
    """2024 Shenzhen vouchers: one SME's first contract (4,000,000) and a second (3,000,000) that hits
    the 3,000,000 annual cap (SZ-AMT-2), taken in submission order (SZ-FLOW-3)."""
    program = SHENZHEN_2024.key
    sme = _applicant(5, "深圳市南山智训科技有限公司")
    first_data = copy.deepcopy(VOUCHER_EXAMPLE)
    second_data = copy.deepcopy(VOUCHER_EXAMPLE)
    second_data["contracts"][0].update(amount_cny="3000000.00", signed_on="2024-10-15")
    at(clock, "2024-11-20 10:00")
    first = engine.open_case(program, applicant=sme, data=first_data, actor=PLATFORM)
    engine.fire(first.id, "submit", actor=PLATFORM)
    at(clock, "2024-12-02 15:00")
    second = engine.open_case(program, applicant=sme, data=second_data, actor=PLATFORM)
    engine.fire(second.id, "submit", actor=PLATFORM)
    at(clock, "2024-12-10 09:30")
    for event in ("accept", "pass_preliminary", "pass_expert_review"):
        engine.advance_batch(program, event, count=10, actor=REVIEWER)
    at(clock, "2024-12-18 09:00")  # the 5-working-day public notice ended with Tue 12-17
    engine.expire_due()
    for case in (first, second):
        engine.fire(case.id, "approve", actor=REVIEWER)
    at(clock, "2024-12-25 10:00")
    engine.fire(first.id, "issue_voucher", actor=REVIEWER, payload={"approval_document": "深科技创新〔2024〕示例1号"})
    engine.fire(second.id, "issue_voucher", actor=REVIEWER, payload={"approval_document": "深科技创新〔2024〕示例2号"})
    _redeem_and_expire(engine, clock, first.id)
    return [first.id, second.id]


def _redeem_and_expire(engine: Engine, clock: ManualClock, redeemed: int) -> None:
    """After issue (SZ-REDEEM-1/2): the first voucher redeemed in two parts against proofs of the service;
    the second never redeemed, so it expires when the performance period ends (2026-12-31 24:00)."""
    proofs = {
        "proof_training_datasets": "训练数据集说明及样本清单.pdf",
        "proof_algorithms": "模型算法说明.pdf",
        "proof_application_scenarios": "应用场景报告.pdf",
        "audit_consent": "训力审计同意书（盖章）.pdf",
    }
    parts = (
        ("2025-09-10 10:00", 120_000_000, "2025-08-31", "verify_redemption"),  # 1,200,000.00: the rest stays
        ("2026-03-02 10:00", 80_000_000, "2026-02-28", "verify_redemption_in_full"),  # the last 800,000.00
    )
    for moment, fen, until, verify in parts:
        at(clock, moment)
        payload = {"redeem_fen": fen, "service_from": "2024-09-01", "service_until": until, **proofs}
        engine.fire(redeemed, "request_redemption", actor=PLATFORM, payload=payload)
        at(clock, moment.replace("10:00", "15:00"))
        engine.fire(redeemed, verify, actor=REVIEWER)
    at(clock, "2026-12-01 09:00")
    engine.send_due_reminders()  # 30 days before the end: the unredeemed voucher's holder is reminded
    at(clock, "2027-01-01 00:05")
    engine.expire_due()  # SZ-REDEEM-2: the unredeemed voucher lapses


def _claw_back(engine: Engine, clock: ManualClock, case_id: int, granted: int) -> None:
    """LG-CLAW-1: an audit finds a forged contract; the grant is recovered and the enterprise listed."""
    at(clock, "2026-03-02 10:00")
    reason = "专项审计发现算力服务合同系伪造，依规追回已拨付资金"
    payload = {"reason": reason, "reason_code": "false_materials", "clawback_fen": granted}
    engine.fire(case_id, "open_clawback", actor=REVIEWER, payload=payload)
    at(clock, "2026-03-30 15:00")
    engine.fire(case_id, "recover", actor=REVIEWER, payload={"reason": "企业已将全部资助款退回区财政"})


def _longgang_filing(engine: Engine, clock: ManualClock) -> tuple[CaseSnapshot, ...]:
    """Five Longgang cases: four filed and reviewed (one returned, one to be clawed back), one idle draft
    abandoned at the window's close."""
    data = copy.deepcopy(EXAMPLE)
    at(clock, "2025-08-14 09:30")
    funded = engine.open_case(PROGRAM, applicant=_applicant(1, "深圳市龙岗云智科技有限公司"), data=data, actor=PLATFORM)
    returned = engine.open_case(
        PROGRAM,
        applicant=_applicant(2, "深圳市大运模型技术有限公司", phone=False),
        data={**data, "fees_cny": "25000000.00"},
        actor=PLATFORM,
    )
    late = engine.open_case(PROGRAM, applicant=_applicant(3, "深圳市坂田算力应用有限公司"), data=data, actor=PLATFORM)
    idle = engine.open_case(
        PROGRAM, applicant=_applicant(4, "深圳市平湖智造有限公司"), data={"fees_cny": "800000.00"}, actor=PLATFORM
    )
    # funded like the first, then found to rest on a forged contract: clawed back (LG-CLAW-1)
    clawed = engine.open_case(PROGRAM, applicant=_applicant(7, "深圳市横岗示例算力有限公司"), data=data, actor=PLATFORM)

    at(clock, "2025-08-20 10:00")
    for case in (funded, returned, late, clawed):
        engine.fire(case.id, "submit", actor=PLATFORM)
    at(clock, "2025-09-02 15:00")
    for case in (funded, late, clawed):
        engine.fire(case.id, "pass_online_review", actor=REVIEWER)
    engine.fire(
        returned.id,
        "return_for_correction",
        actor=REVIEWER,
        payload={"reason": "算力使用报告未加盖公章，请补充后重新提交"},
    )
    at(clock, "2025-09-05 11:00")
    for case in (funded, late, clawed):
        engine.fire(case.id, "file_on_portal", actor=PLATFORM)

    at(clock, "2025-09-14 00:05")
    engine.expire_due()  # LG-WIN-1: the idle draft is abandoned
    return funded, returned, late, idle, clawed


def _longgang_decisions(engine: Engine, clock: ManualClock, funded: int, returned: int, late: int, clawed: int) -> None:
    """Resubmission, portal approval, paper (one on time, one late), publicity, funding and a clawback (LG-CLAW-1)."""
    at(clock, "2025-09-20 16:00")  # after the window: allowed for a resubmission (LG-WIN-2)
    engine.fire(
        returned, "resubmit", actor=PLATFORM, payload={"data": {"materials": copy.deepcopy(EXAMPLE["materials"])}}
    )
    at(clock, "2025-09-26 10:00")  # Friday: portal approval SMS, the 5-working-day clock starts
    for case_id in (funded, late, clawed):
        engine.fire(case_id, "approve_on_portal", actor=REVIEWER)
    at(clock, "2025-09-28 14:00")  # Sunday, a make-up working day
    engine.fire(funded, "receive_paper", actor=REVIEWER, payload={"service_window": 11})
    engine.fire(clawed, "receive_paper", actor=REVIEWER, payload={"service_window": 12})
    at(clock, "2025-10-11 08:00")  # the deadline ended with Fri 2025-10-10
    engine.expire_due()
    at(clock, "2025-10-20 09:00")
    engine.fire(returned, "pass_online_review", actor=REVIEWER)
    engine.fire(funded, "start_publicity", actor=REVIEWER)
    engine.fire(clawed, "start_publicity", actor=REVIEWER)
    at(clock, "2025-10-28 00:10")  # 5 working days of publicity ended with Mon 10-27, no objection
    engine.expire_due()
    at(clock, "2025-10-28 10:00")
    engine.fire(funded, "fund", actor=REVIEWER)
    granted = engine.fire(clawed, "fund", actor=REVIEWER).amount_fen
    _claw_back(engine, clock, clawed, granted or 0)


def _print_timelines(engine: Engine, ids: list[int], say: Callable[[str], None]) -> None:
    for case_id in ids:
        case = engine.get_case(case_id)
        process = engine.programs.get(case.program, case.program_version)
        amount = f", subsidy {format_yuan(case.amount_fen)} CNY" if case.amount_fen is not None else ""
        who = f"{case.applicant.name} ({case.applicant.code})"
        say(f"\nCase {case.id}: {who}, now {case.state} ({case.state_label}){amount}")
        if process.definition.figures is not None and case.amount_fen is not None:  # e.g. a voucher's redemption
            figures = process.definition.figures(case.state, case.data, case.amount_fen)
            say("  " + ", ".join(f"{k.removesuffix('_fen')} {format_yuan(v)}" for k, v in figures.items()) + " CNY")
        for line in render_timeline(process, engine.history(case_id)):
            say(line)


def run_demo(engine: Engine, clock: ManualClock, say: Callable[[str], None] = print) -> list[int]:
    """Run the round and print each case's timeline; returns the case ids."""
    funded, returned, late, idle, clawed = _longgang_filing(engine, clock)
    _longgang_decisions(engine, clock, funded.id, returned.id, late.id, clawed.id)
    ids = [funded.id, returned.id, late.id, idle.id, clawed.id, *_voucher_round(engine, clock)]
    _print_timelines(engine, ids, say)
    return ids
