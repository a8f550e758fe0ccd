"""Console pages over HTTP: queue filters and counts, batch actions in submission order, exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh, submitted
from tests.support.shenzhen import PROGRAM as VOUCHER
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock


def _evaluated(console: Console, serial: int) -> int:
    engine = console.engine
    case_id = submitted(engine, serial)
    engine.override(case_id, "evaluation", actor=STAFF, reason="测试准备")
    return case_id


def test_publishing_a_publicity_list_from_a_selection_and_exporting_it(console: Console, clock: ManualClock) -> None:
    # LG-FLOW-6: the publicity list (公示名单) is published from the console and exported as CSV
    ids = [_evaluated(console, serial) for serial in (1, 2, 3)]
    clock.set(sh("2025-09-17 09:00"))  # a Wednesday after the filing period has ended (LG-FLOW-6)
    with console.signed_in() as http:
        token = console.csrf(http)
        done = http.post(
            "/console/batch",
            data={
                "csrf": token,
                "program": PROGRAM,
                "event": "start_publicity",
                "case_ids": [str(ids[2]), str(ids[0])],
            },
        )
        assert done.status_code == 303
        assert "error" not in done.headers["location"]
        queue = http.get("/console/queue", params={"program": PROGRAM, "state": "publicity"}).text
        assert "拟资助名单公示中 2" in queue
        export = http.get(f"/console/rounds/{PROGRAM}/publicity.csv")
        assert export.headers["content-type"].startswith("text/csv")
        assert export.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert rows[0] == ["序号", "申报单位", "统一社会信用代码", "项目", "拟支持金额（元）"]
        assert [r[1] for r in rows[1:]] == ["深圳市测试科技1号有限公司", "深圳市测试科技3号有限公司"]
        assert rows[1][4] == "360,000.00"
    console.engine.clock.advance(timedelta(days=5))  # type: ignore[attr-defined]
    with console.signed_in() as http:  # (sessions last 8 hours of the injected clock)
        overview = http.get("/console/rounds").text
        assert "2025年龙岗区人工智能算力扶持项目" in overview
        assert "公示期" in overview, "Monday: the publicity periods end this week (5 working days from Wednesday)"


def test_batch_advances_in_submission_order_and_stops_at_a_refusal(console: Console, clock: ManualClock) -> None:
    # SZ-FLOW-3 from the console: the selection is processed oldest submission first
    engine = console.engine
    clock.set(clock.now().replace(year=2024, month=11, day=25))
    ids = []
    for serial in (1, 2, 3):
        ids.append(engine.open_case(VOUCHER, applicant=applicant(serial), data=voucher_data(), actor=PLATFORM).id)
        engine.fire(ids[-1], "submit", actor=PLATFORM)
        clock.advance(timedelta(minutes=1))
    with console.signed_in() as http:
        token = console.csrf(http, f"/console/queue?program={VOUCHER}")
        skipped = http.post(
            "/console/batch", data={"csrf": token, "program": VOUCHER, "event": "accept", "case_ids": [str(ids[1])]}
        )
        assert "SZ-FLOW-3" in skipped.headers["location"] or "SZ-FLOW-3" in http.get(skipped.headers["location"]).text
        ordered = http.post(
            "/console/batch",
            data={"csrf": token, "program": VOUCHER, "event": "accept", "case_ids": [str(ids[1]), str(ids[0])]},
        )
        assert ordered.status_code == 303
    assert [engine.get_case(i).state for i in ids] == ["preliminary_review", "preliminary_review", "pending_acceptance"]


def test_queue_filters_by_due_and_overdue(console: Console, clock: ManualClock) -> None:
    engine = console.engine
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM)
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="测试")
    with console.signed_in() as http:
        due = http.get("/console/queue", params={"program": PROGRAM, "due_within": "5", "sort": "due"}).text
        assert "深圳市测试科技1号有限公司" in due
        assert "深圳市测试科技2号有限公司" not in due, "the draft's window closes later than 5 working days"
    clock.advance(timedelta(days=30))
    with console.signed_in() as http:
        overdue = http.get("/console/queue", params={"program": PROGRAM, "overdue": "true"}).text
        assert "深圳市测试科技1号有限公司" in overdue
        page = http.get(f"/console/cases/{case_id}").text
        assert "LG-DL-1" in page
        assert "：工作日（计入）" in page, "the working-day explanation is shown, in zh-CN (issue 15 item 3)"
        assert 'aria-current="step"' in page
