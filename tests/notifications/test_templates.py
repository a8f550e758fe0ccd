"""Every notice every program can queue has its zh-CN templates, and each renders (LG-NOTE-1, SZ notices)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from notifications.context import build_context
from notifications.rendering import Renderer, sms_segments
from states.registry import default_catalog
from workflow.definition import NoticeRule
from workflow.process import CompiledProcess

ENGINE_NOTICES = (  # queued by the engine itself for every program
    NoticeRule("deadline_extended"),
    NoticeRule("deadline_suspended"),
    NoticeRule("deadline_resumed"),
    NoticeRule("deadline_moved"),
    NoticeRule("notice_dead", ("email",), audience="staff"),
)
PROCESSES = list(default_catalog())
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def declared_notices(process: CompiledProcess) -> list[NoticeRule]:
    """Every notice a definition can queue: state entries, override, reminder rungs, expiry alerts."""
    d = process.definition
    rules: list[NoticeRule] = [n for s in d.states for n in s.notices]
    rules += [d.override_notice] if d.override_notice else []
    for deadline in d.deadlines:
        rules += [rung.notice for rung in deadline.reminders]
        rules += [deadline.expiry_alert] if deadline.expiry_alert else []
    return [*rules, *ENGINE_NOTICES]


def stored_context(
    process: CompiledProcess, kind: str, reason: str = "发票金额与合同不一致，请补充说明"
) -> dict[str, Any]:
    """What the outbox would hold for this notice, with realistic values."""
    return {
        "case_id": 42,
        "program": process.key,
        "applicant_name": "深圳市龙岗云智科技有限公司",
        "state": "awaiting_paper" if "paper" in kind or kind == "portal_approved" else process.definition.initial,
        "event": "submit",
        "reason": reason,
        "deadlines": {"paper_delivery": "2025-10-10T16:00:00+00:00", "publicity_period": "2025-10-27T16:00:00+00:00"},
        "payload": {"service_window": 3},
        "amount_fen": 36_000_000,
        "deadline": "paper_delivery",
        "label": "书面材料递交期限",
        "due_at": "2025-10-10T16:00:00+00:00",
        "old_due_at": "2025-10-08T16:00:00+00:00",
        "rung": "1_day_before",
        "from_label": "线上审核中",
        "to_label": "待递交书面材料",
        "failed_notice": {
            "id": 7,
            "kind": "portal_approved",
            "channel": "sms",
            "recipient": "13800138000",
            "last_error": "SMS gateway refused 400",
        },
    }


CASES = [
    pytest.param(process, rule, id=f"{process.key}:{rule.kind}")
    for process in PROCESSES
    for rule in {r.kind: r for r in declared_notices(process)}.values()
]


@pytest.mark.parametrize(("process", "rule"), CASES)
def test_every_notice_renders_on_every_channel(process: CompiledProcess, rule: NoticeRule) -> None:
    renderer = Renderer()
    context = build_context(stored_context(process, rule.kind), process, kind=rule.kind, channel="email")
    for part in ("subject", "text", "html"):
        assert renderer.has(process.key, rule.kind, part), f"missing {rule.kind}.{part}.j2"
    mail = renderer.email(process.key, rule.kind, context)
    for text in (mail.subject, mail.text, mail.html):
        assert "None" not in text
        assert CHINESE.search(text)
    assert 'lang="zh-CN"' in mail.html
    assert "\n" not in mail.subject
    if rule.audience == "applicant":
        assert "sms" in rule.channels
        sms = renderer.sms(
            process.key,
            rule.kind,
            build_context(stored_context(process, rule.kind), process, kind=rule.kind, channel="sms"),
        )
        assert "None" not in sms
        assert sms_segments(sms) == 1, f"{rule.kind}: {len(sms)} characters cost several messages: {sms}"
    else:
        assert rule.channels == ("email",), "staff alerts go to the staff mailbox"


def test_key_facts_reach_the_applicant() -> None:
    # LG-NOTE-1 and LG-FLOW-5: the portal-approval email carries the due date and all 13 windows
    renderer = Renderer()
    longgang = next(p for p in PROCESSES if p.key.startswith("longgang"))
    approved = renderer.email(
        longgang.key,
        "portal_approved",
        build_context(stored_context(longgang, "x"), longgang, kind="x", channel="email"),
    )
    assert "2025年10月10日" in approved.text
    assert approved.text.count("深圳市龙岗区政务服务中心") >= 13
    assert "28919635" in approved.html
    funded = renderer.email(
        longgang.key, "funded", build_context(stored_context(longgang, "x"), longgang, kind="x", channel="email")
    )
    assert "360,000.00" in funded.text
    returned = renderer.email(
        longgang.key,
        "returned_for_correction",
        build_context(stored_context(longgang, "x"), longgang, kind="x", channel="email"),
    )
    assert "发票金额与合同不一致" in returned.text


def test_html_escapes_what_people_typed_and_text_keeps_it() -> None:
    renderer = Renderer()
    longgang = next(p for p in PROCESSES if p.key.startswith("longgang"))
    stored = stored_context(longgang, "x", reason="<script>alert(1)</script>")
    context = build_context(stored, longgang, kind="returned_for_correction", channel="email")
    mail = renderer.email(longgang.key, "returned_for_correction", context)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "<script>alert(1)</script>" in mail.text


def test_a_long_sms_is_flagged() -> None:
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 71) == 2
    assert sms_segments("字" * 135) == 3
