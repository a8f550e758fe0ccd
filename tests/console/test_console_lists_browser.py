"""In a real headless Chromium: a reviewer lists an applicant by hand and sees its open case flagged (LG-LIST-1)."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data, uscc


def test_lg_list_1_adding_an_entry_in_the_browser_flags_the_open_case(console: Console, browser: Any) -> None:
    case_id = console.engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{console.base}/console/login")
    page.get_by_label("访问令牌（staff 或 admin）").fill(console.tokens["staff"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/queue")

    page.get_by_role("link", name="名单管理").click()
    page.wait_for_url("**/console/lists")
    page.get_by_label("名单", exact=True).last.select_option("serious_dishonesty")
    page.get_by_label("统一社会信用代码").last.fill(uscc(1))
    page.get_by_label("起始日期").fill("2025-08-01")
    page.get_by_label("来源").fill("信用中国（广东深圳）")
    page.get_by_label("录入理由").fill("信用中国公示，人工录入")
    page.get_by_role("button", name="添加条目").click()
    page.wait_for_load_state()
    assert f"标记的在办案件：案件 {case_id}" in page.get_by_role("status").inner_text()
    assert uscc(1) in page.locator("section[aria-labelledby=entries-h] tbody").inner_text()

    page.goto(f"{console.base}/console/cases/{case_id}")
    timeline = page.locator("section[aria-labelledby=h-timeline] tbody tr")
    flagged = timeline.filter(has_text="listing.flagged")
    assert flagged.count() == 1, "the case page's audit timeline shows the listing.flagged event"
    assert "申请单位被列入名单" in flagged.inner_text()
    context.close()
