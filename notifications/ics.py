"""Deadlines as iCalendar events (RFC 5545), attached to the applicant's email so they land in a calendar.

Generic: any notice whose stored context carries a deadline gets an event for it, whether
the change opened deadlines (``deadlines``: key -> due instant, e.g. the paper deadline
opened by the portal-approval notice, LG-DL-1) or moved one (``deadline`` + ``due_at``:
extended, resumed, recomputed). A suspended deadline (no due instant) gets none.

A deadline that ends at the end of a day in Asia/Shanghai (every working-day deadline) is an
all-day event on its last day, with an alarm at 09:00 (Asia/Shanghai) the day before; a
deadline at another instant (a window closing at 18:00) is a timed event ending then, in the
``Asia/Shanghai`` zone, with its VTIMEZONE. The UID is stable per case and
deadline, so a later notice about the same deadline (an extension) updates the event rather
than adding a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

from workflow.clock import SHANGHAI
from workflow.process import CompiledProcess

PRODID = "-//FilingFlow//Deadlines//ZH"


def deadline_events(stored: Mapping[str, Any], process: CompiledProcess) -> list[tuple[str, str, datetime]]:
    """``(key, label, due instant)`` for every deadline the notice's stored context carries."""
    labels = {rule.key: rule.label for rule in process.definition.deadlines}
    found: dict[str, tuple[str, str, datetime]] = {}
    for key, due in dict(stored.get("deadlines") or {}).items():
        if due:
            found[str(key)] = (str(key), labels.get(key, str(key)), datetime.fromisoformat(due))
    key, due = stored.get("deadline"), stored.get("due_at")
    if key and due:
        label = str(stored.get("label") or labels.get(key, key))
        found[str(key)] = (str(key), label, datetime.fromisoformat(due))
    return list(found.values())


def deadline_calendar(
    stored: Mapping[str, Any], process: CompiledProcess, *, domain: str, stamp: datetime
) -> bytes | None:
    """A VCALENDAR (METHOD:PUBLISH) with one VEVENT per deadline in the context, or None when there is none."""
    events = deadline_events(stored, process)
    if not events:
        return None
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    title = process.definition.title
    case_id = stored.get("case_id")
    for key, label, due in events:
        event = Event()
        event.add("uid", f"case-{case_id}-{key}@{domain}")
        event.add("dtstamp", stamp)
        local = due.astimezone(SHANGHAI)
        if local.time() == time(0):  # the end of the previous day: an all-day event on the last day
            last_day = (local - timedelta(days=1)).date()
            event.add("dtstart", last_day)
            event.add("dtend", last_day + timedelta(days=1))
            when = f"{last_day.year}年{last_day.month}月{last_day.day}日24:00（北京时间）"
            remind = timedelta(hours=-15)  # 09:00 the day before (the event starts at 00:00 local)
        else:
            event.add("dtstart", local - timedelta(hours=1))
            event.add("dtend", local)
            when = f"{local.year}年{local.month}月{local.day}日{local:%H:%M}（北京时间）"
            remind = timedelta(days=-1)
        event.add("summary", f"截止：{label}（{title}）")
        event.add("description", f"案件 {case_id}：{label}，截止时间 {when}。逾期未办理的，按申报指南处理。")
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"明天截止：{label}")
        alarm.add("trigger", remind)
        event.add_component(alarm)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
