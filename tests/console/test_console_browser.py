"""End to end in a real headless Chromium (Debian's package): a reviewer's day in the console."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data

ARTIFACTS = Path(os.environ.get("FILINGFLOW_ARTIFACTS", "test-artifacts"))


def test_a_reviewer_signs_in_finds_a_case_acts_overrides_and_exports(
    console: Console, browser: Any, backend: str, tmp_path: Path
) -> None:
    # LG-FLOW-3 fired from the console; an override with its reason lands in the audit trail
    engine = console.engine
    names = []
    for serial in (1, 2, 3):
        case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        names.append(case.applicant.name)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{console.base}/console/login")
    page.get_by_label("访问令牌（staff 或 admin）").fill(console.tokens["staff"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/queue")
    assert page.get_by_role("cell", name=names[0]).is_visible()
    assert "线上审核中 3" in page.get_by_role("navigation", name="各状态数量").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"console-queue-{backend}.png"), full_page=True)

    page.get_by_label("单位名称或信用代码").fill("2号")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    rows.first.get_by_role("link").click()
    page.wait_for_url("**/console/cases/2")
    assert page.get_by_role("heading", level=1).inner_text().startswith("案件 2")

    page.get_by_role("button", name="通过线上终审").click()
    page.wait_for_load_state()
    assert "已执行：通过线上终审（pass_online_review）" in page.get_by_role("status").inner_text()
    assert "已通过线上终审" in page.locator("ol.states li[aria-current=step]").inner_text()
    current = page.locator("svg.flowchart g.node[aria-current=step]")
    assert current.count() == 1, "the diagram marks exactly one state as current"
    assert current.locator("text").text_content() == "▶ 已通过线上终审（当前）"
    page.reload()
    assert page.get_by_role("status").count() == 0, "a message shows once"

    page.get_by_label("目标状态").select_option("awaiting_paper")
    page.get_by_label("理由", exact=True).last.fill("门户网站线下已审核通过，补录状态")
    page.get_by_role("button", name="预览（不执行）").click()
    assert "已通过线上终审 → 待递交书面材料" in page.locator("#preview").inner_text()
    # issue 15 item 3: the preview is on screen without scrolling (the answer is anchored at #override)
    assert page.url.endswith("#override")
    top = page.evaluate("document.getElementById('preview').getBoundingClientRect().top")
    assert 0 <= top < page.evaluate("window.innerHeight"), top
    assert engine.get_case(2).state == "online_approved", "a preview changes nothing"
    page.get_by_role("button", name="确认调整").click()
    page.wait_for_load_state()
    assert engine.get_case(2).state == "awaiting_paper"
    override_row = page.locator("tr.override")
    assert "门户网站线下已审核通过，补录状态" in override_row.inner_text()
    assert "staff-console" in override_row.inner_text()
    assert "LG-DL-1" in page.get_by_role("region", name="期限").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"console-case-{backend}.png"), full_page=True)

    page.get_by_role("link", name="申报批次概览").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="导出全部案件（CSV）").first.click()
    path = tmp_path / "cases.csv"
    download_info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM so Excel opens Chinese correctly"
    rows_csv = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows_csv[0][:3] == ["业务编号", "申报单位", "统一社会信用代码"]
    assert [r[1] for r in rows_csv[1:]] == names
    assert rows_csv[2][4] == "待递交书面材料"
    context.close()
    history = engine.history(2)
    assert (history[-1].kind, history[-1].via, history[-1].actor) == ("override", "console", "staff-console")


def test_the_console_works_from_the_keyboard(console: Console, browser: Any) -> None:
    # sign in with Enter, reach the skip link and the filter with Tab, filter with Enter
    engine = console.engine
    for serial in (1, 2):
        case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{console.base}/console/login")
    assert page.evaluate("document.activeElement.id") == "token", "the token field has focus on arrival"
    page.keyboard.type(console.tokens["staff"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/queue")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    assert skip.evaluate("e => e === document.activeElement"), "the first Tab lands on the skip link"
    box = skip.bounding_box()
    assert box is not None
    assert box["x"] >= 0, "the focused skip link is on screen"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main", "the skip link moves focus to the content"

    for _ in range(30):
        if page.evaluate("document.activeElement.id") == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q", "the name filter is reachable with Tab"
    page.keyboard.type("2号")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=2*")
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert "深圳市测试科技2号有限公司" in rows.first.inner_text()
    context.close()
