"""Decide, then store: a rule's verdict and a change's rows are computed without a database.

The engine's decision (workflow.decide) and its plan (workflow.plan) are pure functions of a
loaded case; these tests build the case by hand, so a rule can be read and checked alone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from states.longgang_ai_compute_2025 import LONGGANG_2025, build
from tests.support.longgang import PLATFORM, STAFF, complete_data, sh, uscc
from workflow.audit import GENESIS, chain_hash
from workflow.decide import EventFacts, decide_event
from workflow.errors import GuardRefused, NotPermitted
from workflow.plan import LoadedCase, plan_change
from workflow.process import ProgramCatalog
from workflow.workdays import WorkingDayCalendar

PROCESS = ProgramCatalog([build(LONGGANG_2025)]).get(LONGGANG_2025.key)
CALENDAR = WorkingDayCalendar()
KEY = b"pure-test-key"


def _draft(**changes: Any) -> LoadedCase:
    row: dict[str, Any] = {
        "id": 7,
        "program_key": PROCESS.key,
        "program_version": PROCESS.version,
        "state": "draft",
        "final": False,
        "version": 1,
        "applicant_name": "深圳市测试科技1号有限公司",
        "applicant_code": uscc(1),
        "applicant_email": "a@example.cn",
        "applicant_phone": "13800000000",
        "data": complete_data(),
        "amount_fen": None,
        "live_key": f"{PROCESS.key}:{uscc(1)}",
        "chain_head": GENESIS,
        "submitted_at": None,
        **changes,
    }
    return LoadedCase(row, ())


def _submit(loaded: LoadedCase, now: datetime, actor: Any = PLATFORM) -> Any:
    event = PROCESS.event("submit")
    return decide_event(PROCESS, loaded, event, EventFacts(), actor=actor, payload={}, now=now, calendar=CALENDAR)


def test_a_submission_after_the_window_is_refused_by_its_rule_without_a_database() -> None:  # LG-WIN-1
    decision = _submit(_draft(), sh("2030-01-02 10:00"))
    assert isinstance(decision.refused, GuardRefused)
    assert decision.refused.rule == "LG-WIN-1"
    assert decision.change is None


def test_a_role_the_event_does_not_name_is_refused_before_any_rule() -> None:
    decision = _submit(_draft(), sh("2025-08-20 09:00"), actor=STAFF)
    assert isinstance(decision.refused, NotPermitted)
    assert decision.refused.field == "role"


def test_an_allowed_submission_plans_every_row_it_writes() -> None:  # LG-FLOW-1, LG-NOTE-1
    now = sh("2025-08-20 09:00")
    loaded = _draft()
    decision = _submit(loaded, now)
    assert decision.refused is None
    assert decision.change is not None
    assert decision.change.to_state == "online_review"
    assert decision.case_values["submitted_at"] == now
    plan = plan_change(PROCESS, loaded, decision.change, now=now, calendar=CALENDAR, audit_key=KEY)
    assert plan.seen_version == 1
    assert plan.case_values["version"] == 2
    assert plan.case_values["state"] == "online_review"
    assert plan.audit["seq"] == 2
    assert plan.audit["prev_hash"] == GENESIS
    stored = {**plan.audit, **{k: json.loads(plan.audit[k]) for k in ("old_values", "new_values")}}  # as read back
    assert plan.audit["hash"] == chain_hash(KEY, GENESIS, stored) == plan.case_values["chain_head"]
    queued = {f"{n['kind']}/{n['channel']}" for n in plan.notices}
    assert set(stored["new_values"]["notices"]) == queued, "the audit event lists every notice the plan queues"
    assert {"submission_received/sms", "submission_received/email"} <= queued
    assert all(n["idempotency_key"].startswith("case/7/v2/") for n in plan.notices)
    assert plan.close == ()
    assert plan.open == ()
    assert plan.webhook["w_case_id"] == 7
