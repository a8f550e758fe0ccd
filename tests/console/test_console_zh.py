"""Everything a reviewer reads in the console is zh-CN (issue 15 item 3), the key as secondary text.

The engine's refusals and deadline explanations carry their structure (a code with parameters,
or a program's own zh-CN wording); the console renders them from it, and the API adds the same
text as ``detail_zh`` beside its English ``detail``.
"""

from __future__ import annotations

import re

import httpx

from tests.console.conftest import Console, form_token, section_text
from tests.support.longgang import PROGRAM, STAFF, applicant, awaiting_paper, complete_data, sh, submitted
from tests.support.shenzhen import PROGRAM as SZ
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock

WITHDRAW_REFUSED = "工作人员（staff）不能执行「撤回申请」（withdraw）；可执行的角色：申请人、申报平台"
ENGLISH = re.compile(r"\b(may not|allowed|counted|skipped|working day|due by|CNY|of the|is not allowed)\b")


def _flash(page: str) -> str:
    found = re.search(r'<p class="flash err" role="alert"[^>]*>([^<]*)</p>', page)
    assert found, "the page shows a refusal"
    return found.group(1)


def test_role_refusal_is_zh_cn_on_the_case_page_and_after_firing(console: Console) -> None:
    # ROLE: withdrawing is the applicant's (or its platform's) act, not a reviewer's
    case_id = submitted(console.engine, 1)
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
        why = re.search(r'<span id="why-withdraw" class="muted">([^<]*)</span>', page)
        assert why is not None
        assert why.group(1) == "不可执行：" + WITHDRAW_REFUSED
        assert "role 'staff'" not in page

        fired = http.post(
            f"/console/cases/{case_id}/events",
            data={"csrf": form_token(page), "event": "withdraw"},
        )
        assert fired.status_code == 303
        shown = _flash(http.get(f"/console/cases/{case_id}").text)
    assert shown == WITHDRAW_REFUSED
    assert console.engine.get_case(case_id).state == "online_review", "nothing was written"


def test_state_refusal_names_the_state_and_event_in_zh_cn(console: Console) -> None:
    case_id = submitted(console.engine, 1)
    with console.signed_in() as http:
        csrf = console.csrf(http, f"/console/cases/{case_id}")
        http.post(f"/console/cases/{case_id}/events", data={"csrf": csrf, "event": "approve_on_portal"})
        shown = _flash(http.get(f"/console/cases/{case_id}").text)
    assert shown == (
        "当前状态「线上审核中」（online_review）下不能执行「广东政务服务网审核通过（短信通知）」（approve_on_portal）"
    )


def test_a_passed_deadline_refuses_in_zh_cn_with_its_rule(console: Console, clock: ManualClock) -> None:
    # LG-DL-1: the portal notice on Wed 2025-08-20; 5 working days end with Wed 08-27
    case_id, _ = awaiting_paper(console.engine, clock, "2025-08-20 09:00")
    clock.set(sh("2025-08-28 10:00"))
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    why = re.search(r'<span id="why-receive_paper" class="muted">([^<]*)</span>', page)
    assert why is not None
    assert why.group(1).startswith("不可执行：「书面材料递交期限」已于 2025年8月27日 24:00（北京时间）届满")
    assert why.group(1).endswith("（规则 LG-DL-1）")


def test_a_program_guard_refuses_in_its_own_zh_cn_words(console: Console, clock: ManualClock) -> None:
    # LG-FLOW-6: the proposed funding list is published only after the filing period ends
    case_id = submitted(console.engine, 1)
    console.engine.override(case_id, "evaluation", actor=STAFF, reason="测试准备")
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    assert "不可执行：拟资助名单须在申报期结束后公示（规则 LG-FLOW-6）" in page
    assert "published after the filing period" not in page


def test_deadline_explanation_is_zh_cn(console: Console, clock: ManualClock) -> None:
    # LG-DL-1: SMS Fri 2025-09-26 -> due end of Fri 10-10 (Sun 09-28 make-up day, Oct 1-8 off)
    case_id, _ = awaiting_paper(console.engine, clock, "2025-09-26 10:00")
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    deadlines = " ".join(section_text(page, "h-deadlines").split())
    for line in (
        "计时起点：2025年9月26日 10:00:00（北京时间",
        "2025年9月27日：周末（不计）",
        "2025年9月28日：调休上班日（国庆节）（计入）",
        "2025年9月29日至30日：工作日（计入）",
        "2025年10月1日至8日：国庆节、中秋节假期（不计）",
        "2025年10月9日至10日：工作日（计入）",
        "截止时间：2025年10月10日 24:00（北京时间）",
    ):
        assert line in deadlines, line
    assert not ENGLISH.search(deadlines), ENGLISH.search(deadlines)


def test_amount_steps_are_zh_cn(console: Console) -> None:
    # LG-AMT-2: 30 % of the fees, in yuan
    case_id = submitted(console.engine, 1)
    assert console.engine.get_case(case_id).data["fees_cny"] == "1200000.00"
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
    applicant = " ".join(section_text(page, "h-applicant").split())
    assert "LG-AMT-2：算力费用 1,200,000.00 元 × 30% = 360,000.00 元" in applicant
    assert "CNY" not in applicant, applicant


def test_override_preview_names_deadlines_and_notices_and_is_anchored(console: Console, clock: ManualClock) -> None:
    case_id, _ = awaiting_paper(console.engine, clock, "2025-08-20 09:00")
    with console.signed_in() as http:
        page = http.get(f"/console/cases/{case_id}").text
        assert f'action="/console/cases/{case_id}/override#override"' in page, "the answer scrolls to the form"
        assert 'id="override"' in page
        preview = http.post(
            f"/console/cases/{case_id}/override",
            data={"csrf": form_token(page), "target": "evaluation", "reason": "窗口已线下受理", "action": "preview"},
        ).text
        refused = http.post(
            f"/console/cases/{case_id}/override",
            data={"csrf": form_token(page), "target": "evaluation", "reason": " ", "action": "preview"},
        )
    block = preview[preview.index('id="preview"') : preview.index("</div>", preview.index('id="preview"'))]
    visible = re.sub(r'<span class="key">[^<]*</span>', "", block)
    assert "书面材料递交期限" in visible
    assert "状态调整通知（短信）" in visible
    assert "状态调整通知（电子邮件）" in visible
    assert "paper_delivery" not in visible, "keys only as secondary text"
    assert "override/sms" not in visible
    assert '<span class="key">paper_delivery</span>' in block
    assert console.engine.get_case(case_id).state == "awaiting_paper", "a preview changes nothing"
    # a refused override is said next to the form it concerns, in zh-CN, naming the field
    assert refused.status_code == 422
    error = re.search(r'<p class="flash err" role="alert" id="override-error">([^<]*)</p>', refused.text)
    assert error is not None
    assert error.group(1) == "须填写理由（字段 reason）"


def test_rounds_page_prints_the_windows_as_zh_cn_dates(console: Console) -> None:
    # SZ-WIN-1 closes at 18:00, not midnight; LG-WIN-1 runs whole days
    with console.signed_in() as http:
        page = http.get("/console/rounds").text
    assert "申报窗口：2024年11月19日 00:00 至 2024年12月9日 18:00（北京时间）" in page
    assert "申报窗口：2025年8月13日 至 2025年9月13日（北京时间）" in page
    assert "2024-12-09T18:00" not in page


def test_api_keeps_english_detail_and_adds_detail_zh(console: Console) -> None:
    # ROLE over the HTTP API: detail stays English for integrators, detail_zh is for people
    case_id = submitted(console.engine, 1)
    with httpx.Client(base_url=console.base, timeout=30) as http:
        answer = http.post(
            f"/v1/cases/{case_id}/events",
            json={"event": "withdraw"},
            headers={"Authorization": f"Bearer {console.tokens['staff']}"},
        )
    assert answer.status_code == 403
    body = answer.json()
    assert body["detail"] == "role 'staff' may not fire 'withdraw' (allowed: applicant, platform)"
    assert body["detail_zh"] == WITHDRAW_REFUSED


def test_program_window_refusals_carry_their_zh_cn_wording(console: Console, clock: ManualClock) -> None:
    # SZ-WIN-1 (opening after 2024-12-09 18:00) and LG-WIN-1 (submitting before 2025-08-13) over the API
    platform = {"Authorization": f"Bearer {console.tokens['platform']}"}
    with httpx.Client(base_url=console.base, timeout=30, headers=platform) as http:
        clock.set(sh("2024-12-09 18:00"))
        late = http.post("/v1/cases", json={"program": SZ, "applicant": applicant(1), "data": voucher_data()})
        clock.set(sh("2025-08-12 23:59"))
        draft = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(2), "data": complete_data()})
        early = http.post(f"/v1/cases/{draft.json()['id']}/events", json={"event": "submit"})
    assert (late.status_code, early.status_code) == (422, 422)
    assert late.json()["detail_zh"] == (
        "本批次申报已于 2024年12月9日 18:00（北京时间）截止，不能再新建案件（规则 SZ-WIN-1）"
    )
    assert early.json()["detail_zh"] == (
        "线上申报时间为 2025年8月13日至9月13日（北京时间），现在是 2025-08-12 23:59:00（规则 LG-WIN-1）"
    )
    assert early.json()["detail"].startswith("online submission is accepted from 2025-08-13"), "detail stays English"


def test_a_second_live_case_is_refused_in_zh_cn(console: Console) -> None:
    # LG-ELIG-2: one live case per applicant in the round
    first = submitted(console.engine, 1)
    platform = {"Authorization": f"Bearer {console.tokens['platform']}"}
    with httpx.Client(base_url=console.base, timeout=30, headers=platform) as http:
        twin = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
    assert twin.status_code == 422
    code = applicant(1)["code"]
    assert twin.json()["detail_zh"] == (
        f"申报单位 {code} 在本批次已有进行中的案件 {first}，同一事项不得重复申报（规则 LG-ELIG-2）"
    )
