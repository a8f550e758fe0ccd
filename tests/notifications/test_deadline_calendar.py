"""The paper deadline lands in the applicant's calendar: an RFC 5545 event attached to its email (issue 15, item 8)."""

from __future__ import annotations

from datetime import date

from icalendar import Calendar

from app.settings import Settings
from notifications.dispatcher import Dispatcher
from tests.support.longgang import STAFF, awaiting_paper
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.engine import Engine


def _calendars(smtp: SmtpServer, to: str) -> list[tuple[str, Calendar]]:
    found = []
    for message in smtp.mailbox.messages:
        if str(message["To"]) != to:
            continue
        for part in message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                raw = part.get_payload(decode=True)
                assert isinstance(raw, bytes)
                assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "RFC 5545 folds lines at 75 octets"
                assert part.get_param("method") == "PUBLISH"
                found.append((str(part.get_filename()), Calendar.from_ical(raw)))
    return found


def test_the_paper_deadline_and_its_extension_arrive_as_one_calendar_event(
    engine: Engine, clock: ManualClock, dispatcher: Dispatcher, smtp: SmtpServer, delivery_settings: Settings
) -> None:
    # LG-DL-1: SMS Fri 2025-09-26 -> the last day is Fri 2025-10-10 (Asia/Shanghai): an all-day event on it
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    smtp.mailbox.messages.clear()
    dispatcher.dispatch_all()
    mixed = [m for m in smtp.mailbox.messages if m.get_content_type() == "multipart/mixed"]
    assert [str(m["To"]) for m in mixed] == ["case1@example.cn"], "only the portal-approval email opens a deadline"
    assert "书面材料" in mixed[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    ((filename, calendar),) = _calendars(smtp, "case1@example.cn")
    assert filename == "截止日期.ics"
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == date(2025, 10, 10)
    assert event.decoded("dtend") == date(2025, 10, 11)
    assert str(event["uid"]) == f"case-{case_id}-paper_delivery@ai.lg.example.cn"
    assert str(event["summary"]) == "截止：书面材料递交期限（2025年龙岗区人工智能算力扶持项目）"
    assert "2025年10月10日24:00（北京时间）" in str(event["description"])
    assert str(calendar["x-wr-timezone"]) == "Asia/Shanghai"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger").total_seconds() == -15 * 3600  # 09:00 on Thu 2025-10-09

    smtp.mailbox.messages.clear()
    engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="快递延误", working_days=2)
    dispatcher.dispatch_all()
    ((_, moved),) = _calendars(smtp, "case1@example.cn")
    (updated,) = moved.walk("VEVENT")
    assert str(updated["uid"]) == str(event["uid"]), "the same event, updated"
    assert updated.decoded("dtstart") == date(2025, 10, 13)  # Sat 10-11 is a make-up working day
    assert _calendars(smtp, delivery_settings.staff_email) == [], "staff alerts carry no calendar"


def test_a_notice_without_a_deadline_has_no_attachment(
    engine: Engine, clock: ManualClock, dispatcher: Dispatcher, smtp: SmtpServer
) -> None:
    from tests.support.longgang import submitted

    submitted(engine, 1)
    dispatcher.dispatch_all()
    assert smtp.mailbox.messages
    assert all(m.get_content_type() == "multipart/alternative" for m in smtp.mailbox.messages)
