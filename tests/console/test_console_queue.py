"""The work queue: paging keeps every filter, sorting by due time, batch events and bad selections."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

from app.console.queries import PAGE
from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, submitted
from workflow.clock import ManualClock


def _link(page: str, rel: str) -> str:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    assert found, f"no {rel} link"
    return unescape(found.group(1))


def test_page_links_keep_every_filter(console: Console) -> None:
    engine = console.engine
    for serial in range(1, PAGE + 2):  # one more than a page matches the filter
        engine.open_case(
            PROGRAM, applicant={**applicant(serial), "name": f"筛选科技{serial}号"}, data={}, actor=PLATFORM
        )
    for serial in range(200, 206):  # and these do not
        engine.open_case(PROGRAM, applicant=applicant(serial), data={}, actor=PLATFORM)
    wanted = {"program": [PROGRAM], "q": ["筛选"], "due_within": ["60"], "sort": ["due"]}
    with console.signed_in() as http:
        first = http.get("/console/queue", params={k: v[0] for k, v in wanted.items()}).text
        assert f"共 {PAGE + 1} 件，第 1 页" in first
        following = _link(first, "next")
        assert parse_qs(urlsplit(following).query) == {**wanted, "page": ["2"]}
        second = http.get(following).text
        assert f"共 {PAGE + 1} 件，第 2 页" in second
        assert second.count('name="case_ids"') == 1, "page 2 holds the one filtered case left, nothing else"
        assert f"筛选科技{PAGE + 1}号" in second
        assert "深圳市测试科技200号有限公司" not in second
        assert parse_qs(urlsplit(_link(second, "prev")).query) == {**wanted, "page": ["1"]}


def test_overdue_survives_paging(console: Console, clock: ManualClock) -> None:
    engine = console.engine
    for serial in range(1, PAGE + 2):
        engine.open_case(PROGRAM, applicant=applicant(serial), data={}, actor=PLATFORM)
    clock.advance(timedelta(days=60))  # every draft's window has closed, none swept yet
    with console.signed_in() as http:
        first = http.get("/console/queue", params={"program": PROGRAM, "overdue": "true"}).text
        assert parse_qs(urlsplit(_link(first, "next")).query)["overdue"] == ["true"]


def test_sorting_by_due_time_puts_the_earliest_deadline_first(console: Console, clock: ManualClock) -> None:
    engine = console.engine
    ids = []
    for serial in (1, 2, 3):  # submitted in this order
        ids.append(engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id)
        engine.fire(ids[-1], "submit", actor=PLATFORM)
        clock.advance(timedelta(minutes=1))
    engine.override(ids[2], "awaiting_paper", actor=STAFF, reason="测试")  # due first
    clock.advance(timedelta(days=1))
    engine.override(ids[1], "awaiting_paper", actor=STAFF, reason="测试")  # due a day later; case 1 has none
    names = [f"深圳市测试科技{serial}号有限公司" for serial in (1, 2, 3)]
    with console.signed_in() as http:

        def order(sort: str) -> list[str]:
            page = http.get("/console/queue", params={"program": PROGRAM, "sort": sort}).text
            return sorted(names, key=page.index)

        assert order("due") == [names[2], names[1], names[0]], "earliest due first, no deadline last"
        assert order("submitted") == names


def test_the_batch_form_offers_only_events_that_need_no_reason_or_document(console: Console) -> None:
    with console.signed_in() as http:
        page = http.get("/console/queue", params={"program": PROGRAM}).text
    batch = page[page.index('id="batch-event"') : page.index("</select>", page.index('id="batch-event"'))]
    offered = set(re.findall(r'<option value="([a-z_]+)"', batch))
    assert {"pass_online_review", "start_publicity", "fund"} <= offered
    assert not offered & {"return_for_correction", "reject", "resolve_objection", "receive_paper", "raise_objection"}
    assert not offered & {"submit", "window_closed"}, "applicant and system events are not staff actions"


def test_a_batch_of_an_event_needing_a_reason_is_refused_with_a_message(console: Console) -> None:
    engine = console.engine
    case_id = submitted(engine, 1)
    before = engine.get_case(case_id).version
    with console.signed_in() as http:
        token = console.csrf(http)
        refused = http.post(
            "/console/batch", data={"csrf": token, "program": PROGRAM, "event": "reject", "case_ids": [str(case_id)]}
        )
        assert refused.status_code == 303
        assert "不能批量执行" in http.get(refused.headers["location"]).text
    assert engine.get_case(case_id).version == before


def test_a_batch_with_an_unknown_case_answers_with_a_console_page(console: Console) -> None:
    engine = console.engine
    case_id = submitted(engine, 1)
    before = engine.get_case(case_id).version
    with console.signed_in() as http:
        token = console.csrf(http)
        answer = http.post(
            "/console/batch",
            data={
                "csrf": token,
                "program": PROGRAM,
                "event": "pass_online_review",
                "case_ids": [str(case_id), "424242"],
            },
        )
        assert answer.status_code == 303, answer.text
        page = http.get(answer.headers["location"])
        assert page.headers["content-type"].startswith("text/html")
        assert "424242" in page.text
        assert 'role="alert"' in page.text
    assert engine.get_case(case_id).version == before, "nothing is fired when the selection is wrong"
