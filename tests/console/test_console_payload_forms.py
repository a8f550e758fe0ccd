"""Issue 14: the case page renders each event's declared payload fields generically and posts them by kind.

No program field is named by the console: Longgang's service window (LG-FLOW-5, options from the
round's ``reference["service_windows"]``) and Shenzhen's approval document (SZ-FLOW-2) arrive through
the same form as a probe program's whole number and date. A value the field's kind refuses, or a
key the event does not declare, is a 422 naming the field, with nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from states.common import STAFF as STAFF_ROLES
from states.registry import definitions
from tests.console.conftest import Console
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, STAFF, applicant, submitted
from tests.support.shenzhen import PROGRAM as VOUCHER
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock
from workflow.definition import Event, PayloadField, ProcessDefinition, State
from workflow.engine import Engine
from workflow.process import ProgramCatalog

PROBE = "console-forms-probe"


def _probe() -> ProcessDefinition:
    """A program the console has never heard of, whose staff event takes a number, a date and a choice."""
    return ProcessDefinition(
        key=PROBE,
        version=1,
        title="表单探针项目",
        initial="draft",
        states=(State("draft", "草稿"), State("visited", "已走访", final=True)),
        events=(
            Event(
                "record_visit",
                "登记走访",
                ("draft",),
                "visited",
                STAFF_ROLES,
                payload=(
                    PayloadField("visitors", "integer", required=True, minimum=1, maximum=20, label_zh="走访人数"),
                    PayloadField("visited_on", "date", required=True, label_zh="走访日期"),
                    PayloadField("room", "text", choices=(("A", "甲会议室"), ("B", "乙会议室")), label_zh="会议室"),
                ),
                requires=("visitors", "visited_on"),
            ),
        ),
    )


@pytest.fixture
def engine(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    built = bootstrap(settings, clock=clock, programs=ProgramCatalog([*definitions(), _probe()]))
    yield built
    built.database.dispose()


def _form(page: str, event: str) -> str:
    start = page.index(f'<input type="hidden" name="event" value="{event}">')
    return page[start : page.index("</form>", start)]


def _post(console: Console, case_id: int, form: dict[str, str]) -> tuple[int, str]:
    """Post an event form as the page would; the status and the page's message (or the problem's detail)."""
    with console.signed_in() as http:
        token = console.csrf(http, f"/console/cases/{case_id}")
        answer = http.post(f"/console/cases/{case_id}/events", data={"csrf": token, **form})
        if answer.status_code != 303:
            return answer.status_code, answer.json()["field"]
        page = http.get(answer.headers["location"]).text
    shown = re.search(r'class="flash (?:ok|err)"[^>]*>([^<]*)<', page)
    return 303, unescape(shown.group(1)) if shown else ""


def test_paper_receipt_offers_the_rounds_service_windows(console: Console) -> None:
    # LG-FLOW-5: the window select lists the round's 13 windows, from its reference data
    engine = console.engine
    case_id = submitted(engine, 1)
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="门户已审核通过，补录")
    with console.signed_in() as http:
        form = _form(http.get(f"/console/cases/{case_id}").text, "receive_paper")
    assert '<label for="service_window-receive_paper">受理窗口</label>' in form
    options = re.findall(r'<option value="(\d+)">(\d+)\. ', form)
    assert [int(v) for v, _ in options] == list(range(1, 14))
    assert 'name="service_window" required' in form
    status, message = _post(console, case_id, {"event": "receive_paper", "service_window": "3"})
    assert (status, message) == (303, "已执行：受理书面材料（receive_paper）")
    assert engine.get_case(case_id).state == "evaluation"
    assert engine.history(case_id)[-1].new_values["payload"] == {"service_window": 3}


def test_voucher_issue_takes_the_approval_document(console: Console) -> None:
    # SZ-FLOW-2: the voucher is the approval document, whose number staff type in
    engine = console.engine
    engine.clock.set(engine.clock.now().replace(year=2024, month=11, day=25))  # type: ignore[attr-defined]
    case_id = engine.open_case(VOUCHER, applicant=applicant(1), data=voucher_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "approved", actor=STAFF, reason="测试准备")
    with console.signed_in() as http:
        form = _form(http.get(f"/console/cases/{case_id}").text, "issue_voucher")
    assert '<label for="approval_document-issue_voucher">批准文件文号</label>' in form
    assert re.search(r'name="approval_document" type="text" maxlength="200" required', form)
    status, _ = _post(console, case_id, {"event": "issue_voucher", "approval_document": " 深工信〔2024〕12号 "})
    assert status == 303
    assert engine.get_case(case_id).state == "voucher_issued"
    assert engine.history(case_id)[-1].new_values["payload"] == {"approval_document": "深工信〔2024〕12号"}


def test_a_whole_number_a_date_and_a_choice_of_a_program_the_console_never_named(console: Console) -> None:
    engine = console.engine
    case_id = engine.open_case(PROBE, applicant=applicant(1), data={}, actor=PLATFORM).id
    with console.signed_in() as http:
        form = _form(http.get(f"/console/cases/{case_id}").text, "record_visit")
    assert 'name="visitors" type="number" min="1" max="20" required' in form
    assert 'name="visited_on" type="date" required' in form
    assert '<option value="">—</option><option value="A">甲会议室</option>' in form, "an optional choice may be blank"
    status, _ = _post(console, case_id, {"event": "record_visit", "visitors": "12", "visited_on": "2025-08-19"})
    assert status == 303
    assert engine.get_case(case_id).state == "visited"
    assert engine.history(case_id)[-1].new_values["payload"] == {"visitors": 12, "visited_on": "2025-08-19"}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"visitors": "²", "visited_on": "2025-08-19"}, "visitors"),
        ({"visitors": "21", "visited_on": "2025-08-19"}, "visitors"),
        ({"visitors": "-1", "visited_on": "2025-08-19"}, "visitors"),
        ({"visitors": "3", "visited_on": "2025-02-30"}, "visited_on"),
        ({"visitors": "3", "visited_on": "19/08/2025"}, "visited_on"),
        ({"visitors": "3", "visited_on": "2025-08-19", "amount_fen": "1"}, "amount_fen"),
    ],
)
def test_a_value_its_kind_refuses_is_a_422_naming_the_field(console: Console, form: dict[str, str], field: str) -> None:
    engine = console.engine
    case_id = engine.open_case(PROBE, applicant=applicant(1), data={}, actor=PLATFORM).id
    before = database_image(engine)
    assert _post(console, case_id, {"event": "record_visit", **form}) == (422, field)
    assert database_image(engine) == before


def test_a_missing_required_field_is_the_engines_refusal_on_the_page(console: Console) -> None:
    engine = console.engine
    case_id = engine.open_case(PROBE, applicant=applicant(1), data={}, actor=PLATFORM).id
    status, message = _post(console, case_id, {"event": "record_visit", "visitors": "3"})
    assert status == 303
    assert "visited_on" in message
    assert engine.get_case(case_id).state == "draft"


def test_a_reviewer_fills_the_generic_forms_in_a_browser(console: Console, browser: Any) -> None:
    # LG-FLOW-5 through the select the round's service windows fill; a probe program's number and date
    engine = console.engine
    paper = submitted(engine, 1)
    engine.override(paper, "awaiting_paper", actor=STAFF, reason="门户已审核通过，补录")
    probe = engine.open_case(PROBE, applicant=applicant(2), data={}, actor=PLATFORM).id
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{console.base}/console/login")
    page.get_by_label("访问令牌（staff 或 admin）").fill(console.tokens["staff"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/queue")

    page.goto(f"{console.base}/console/cases/{paper}")
    page.get_by_label("受理窗口").select_option("11")
    page.get_by_role("button", name="受理书面材料").click()
    page.wait_for_load_state()
    assert "已执行：受理书面材料（receive_paper）" in page.get_by_role("status").inner_text()

    page.goto(f"{console.base}/console/cases/{probe}")
    page.get_by_label("走访人数").fill("7")
    page.get_by_label("走访日期").fill("2025-08-19")
    page.get_by_label("会议室").select_option("B")
    page.get_by_role("button", name="登记走访").click()
    page.wait_for_load_state()
    assert "已执行：登记走访（record_visit）" in page.get_by_role("status").inner_text()
    context.close()
    assert engine.history(paper)[-1].new_values["payload"] == {"service_window": 11}
    assert engine.history(probe)[-1].new_values["payload"] == {"visitors": 7, "visited_on": "2025-08-19", "room": "B"}
