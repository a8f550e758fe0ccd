"""LG-CLAW-1 and SZ-CLAW-1: funds obtained with false materials are recovered, and the applicant listed.

Staff open a clawback on a funded case or an issued voucher (reason, reason code, amount in fen,
never more than granted), the applicant is told, the case ends recovered or written off; a
clawback for false materials lists the applicant, which a new filing then meets. Both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from states import longgang_ai_compute_2025 as longgang
from states import shenzhen_training_voucher_2024 as shenzhen
from tests.support import shenzhen as sz
from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh, uscc
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import GuardRefused, InvalidInput, NotPermitted
from workflow.listings import Listings
from workflow.process import ProgramCatalog
from workflow.tables import notices

LONGGANG_2026 = replace(
    longgang.LONGGANG_2025,
    key="longgang-ai-compute-2026",
    year=2026,
    window_opens=date(2026, 8, 10),
    window_closes=date(2026, 9, 10),
)
GRANTED = 36_000_000  # 30% of 1,200,000.00 CNY
FALSE = {"reason": "经核查，算力服务合同系伪造", "reason_code": "false_materials"}


@pytest.fixture
def engine(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    """Both built-in rounds and a 2026 Longgang round (a new filing after a clawback)."""
    catalog = ProgramCatalog([longgang.build(), longgang.build(LONGGANG_2026), shenzhen.build()])
    built = bootstrap(settings, clock=clock, programs=catalog)
    yield built
    built.database.dispose()


def funded(engine: Engine, serial: int = 1) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "awaiting_decision", actor=STAFF, reason="测试：跳过评审环节")
    case = engine.fire(case_id, "fund", actor=STAFF)
    assert (case.state, case.final, case.amount_fen) == ("funded", False, GRANTED)  # a clawback may follow
    return case_id


def issued(engine: Engine, clock: ManualClock, serial: int = 1) -> int:
    clock.set(sh("2024-11-25 10:00"))
    case_id = engine.open_case(sz.PROGRAM, applicant=applicant(serial), data=sz.voucher_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "approved", actor=STAFF, reason="测试：跳过评审环节")
    payload = {"approval_document": "深科技创新〔2024〕123号"}
    return engine.fire(case_id, "issue_voucher", actor=STAFF, payload=payload).id


def _kinds(engine: Engine, case_id: int) -> list[tuple[str, str]]:
    with engine.database.connect() as conn:
        rows = conn.execute(
            sa.select(notices.c.kind, notices.c.channel).where(notices.c.case_id == case_id).order_by(notices.c.id)
        )
        return [(r.kind, r.channel) for r in rows]


def test_lg_claw_1_a_clawback_for_false_materials_ends_recovered_and_lists_the_applicant(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    case_id = funded(engine)
    case = engine.fire(case_id, "open_clawback", actor=STAFF, payload={**FALSE, "clawback_fen": GRANTED})
    assert (case.state, case.amount_fen) == ("clawback", GRANTED), "the grant still counts against the cap"
    assert ("clawback_opened", "sms") in _kinds(engine, case_id)
    assert ("clawback_opened", "email") in _kinds(engine, case_id)
    opened = engine.history(case_id)[-1]
    assert (opened.event, opened.reason) == ("open_clawback", FALSE["reason"])
    assert opened.new_values["payload"] == {"reason_code": "false_materials", "clawback_fen": GRANTED}
    [entry] = Listings(engine).entries(applicant_code=uscc(1))
    assert (entry["list_key"], entry["since"], entry["until"]) == ("serious_dishonesty", "2025-08-20", None)
    assert f"case {case_id}" in entry["source"]
    assert "LG-CLAW-1" in entry["source"]
    done = engine.fire(case_id, "recover", actor=STAFF, payload={"reason": "款项已于2025-09-30退回区财政"})
    assert (done.state, done.final) == ("recovered", True)
    assert ("clawback_recovered", "email") in _kinds(engine, case_id)
    # a new filing by that applicant (the 2026 round) meets the list (LG-LIST-1)
    clock.set(sh("2026-08-20 10:00"))
    again = engine.open_case(LONGGANG_2026.key, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(again.id, "submit", actor=PLATFORM)
    assert (refused.value.rule, refused.value.field) == ("LG-LIST-1", "lists.serious_dishonesty")
    assert_invariants(engine, audit_key)


def test_lg_claw_1_never_more_than_granted_and_every_step_needs_staff_and_a_reason(engine: Engine) -> None:
    case_id = funded(engine)
    before = database_image(engine)
    with pytest.raises(GuardRefused) as refused:
        engine.fire(case_id, "open_clawback", actor=STAFF, payload={**FALSE, "clawback_fen": GRANTED + 1})
    assert (refused.value.rule, refused.value.field) == ("LG-CLAW-1", "payload.clawback_fen")
    assert refused.value.params == {"clawback_fen": GRANTED + 1, "granted_fen": GRANTED}
    with pytest.raises(GuardRefused) as bad_code:
        engine.fire(case_id, "open_clawback", actor=STAFF, payload={**FALSE, "reason_code": "x", "clawback_fen": 1})
    assert (bad_code.value.rule, bad_code.value.field) == ("LG-CLAW-1", "payload.reason_code")
    for payload, field in (
        ({"reason_code": "other", "clawback_fen": 1}, "payload.reason"),
        ({**FALSE}, "payload.clawback_fen"),
        ({**FALSE, "clawback_fen": 0}, "payload.clawback_fen"),
    ):
        with pytest.raises(InvalidInput) as missing:
            engine.fire(case_id, "open_clawback", actor=STAFF, payload=payload)
        assert missing.value.field == field
    with pytest.raises(NotPermitted):
        engine.fire(case_id, "open_clawback", actor=PLATFORM, payload={**FALSE, "clawback_fen": 1})
    assert database_image(engine) == before, "refused: nothing written, nobody listed"


def test_lg_claw_1_a_clawback_for_another_reason_lists_nobody_and_may_be_written_off(engine: Engine) -> None:
    case_id = funded(engine)
    payload = {"reason": "审计发现部分费用重复申报", "reason_code": "rule_breach", "clawback_fen": 1_000_000}
    engine.fire(case_id, "open_clawback", actor=STAFF, payload=payload)
    assert Listings(engine).entries(applicant_code=uscc(1)) == []
    with pytest.raises(InvalidInput):
        engine.fire(case_id, "write_off", actor=STAFF)
    case = engine.fire(case_id, "write_off", actor=STAFF, payload={"reason": "企业已注销，追回无果"})
    assert (case.state, case.final) == ("written_off", True)


def test_sz_claw_1_an_issued_voucher_clawed_back_lists_the_applicant_in_the_integrity_list(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    voucher = issued(engine, clock)
    second = engine.open_case(sz.PROGRAM, applicant=applicant(1), data=sz.voucher_data(), actor=PLATFORM).id
    engine.fire(second, "submit", actor=PLATFORM)
    version = engine.get_case(second).version
    granted = engine.get_case(voucher).amount_fen
    assert granted is not None
    engine.fire(voucher, "open_clawback", actor=STAFF, payload={**FALSE, "clawback_fen": granted})
    [entry] = Listings(engine).entries(applicant_code=uscc(1))
    assert entry["list_key"] == "research_integrity_abnormal"
    flagged = engine.get_case(second)
    assert flagged.version == version + 1, "the applicant's other open case is flagged for staff"
    assert engine.history(second)[-1].event == "listing.flagged"
    # flagged, the case still moves where no list is checked; the decision meets the list (SZ-LIST-1)
    assert engine.fire(second, "accept", actor=STAFF).state == "preliminary_review"
    third = engine.open_case(sz.PROGRAM, applicant=applicant(1), data=sz.voucher_data(), actor=PLATFORM).id
    with pytest.raises(GuardRefused) as listed:
        engine.fire(third, "submit", actor=PLATFORM)
    assert (listed.value.rule, listed.value.field) == ("SZ-LIST-1", "lists.research_integrity_abnormal")
    assert engine.fire(voucher, "recover", actor=STAFF, payload={"reason": "已退回"}).state == "recovered"
    assert_invariants(engine, audit_key)
