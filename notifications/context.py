"""What a notice template sees: the outbox row's stored context made readable.

The outbox stores the facts of the change as JSON at the moment it happened (state,
reason, deadlines, amount in fen); this module turns them into the values a zh-CN
template prints: labels, dates as ``2025年10月10日`` in Asia/Shanghai, amounts as
``360,000.00``, and the exact end of a window or deadline as ``2024年12月9日18:00`` or
``2025年9月13日24:00`` (the ``*_end`` keys; SZ-WIN-1: a notice that names when something
closes names the time that matters, so nobody reads "12月9日" as "until midnight").
Every key is always present (``None`` where it does not apply), so a template that names
a key never fails for a notice kind it was written for, and ``StrictUndefined`` still
catches a misspelt one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from workflow.clock import SHANGHAI
from workflow.money import format_yuan
from workflow.process import CompiledProcess


def zh_date(instant: datetime) -> str:
    local = instant.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def last_day(iso: str | None) -> str | None:
    """A due instant (the midnight that ends the last day) as that last day, in Chinese."""
    if not iso:
        return None
    return zh_date(datetime.fromisoformat(iso) - timedelta(microseconds=1))


def end_time(iso: str | None) -> str | None:
    """A due instant as the exact end it marks: ``2024年12月9日18:00``; a midnight as ``24:00`` of the day it ends."""
    if not iso:
        return None
    local = datetime.fromisoformat(iso).astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{zh_date(local - timedelta(microseconds=1))}24:00"
    return f"{zh_date(local)}{local:%H:%M}"


def _window_end(value: str | None) -> str | None:
    """The round's close: an instant (``2024-12-09T18:00:00+08:00``) or an inclusive last day (``2025-09-13``)."""
    if not value:
        return None
    if "T" in value:
        return end_time(value)
    return f"{_iso_day(value)}24:00"


def build_context(stored: Mapping[str, Any], process: CompiledProcess, *, kind: str, channel: str) -> dict[str, Any]:
    """The template context for one notice (see the module docstring for the contract)."""
    definition = process.definition
    state = stored.get("state")
    payload = dict(stored.get("payload") or {})
    windows = list(definition.reference.get("service_windows", []))
    window_number = payload.get("service_window")
    amount_fen = stored.get("amount_fen")
    deadlines = dict(stored.get("deadlines") or {})
    round_info = dict(definition.reference.get("round", {}))
    return {
        "kind": kind,
        "channel": channel,
        "case_id": stored.get("case_id"),
        "applicant_name": stored.get("applicant_name"),
        "program_key": definition.key,
        "program_title": definition.title,
        "state": state,
        "state_label": process.states[state].label if state in process.states else state,
        "event": stored.get("event"),
        "reason": stored.get("reason"),
        "amount": format_yuan(amount_fen) if isinstance(amount_fen, int) else None,
        "deadline": stored.get("deadline"),
        "deadline_label": stored.get("label"),
        "due_date": last_day(stored.get("due_at")),
        "old_due_date": last_day(stored.get("old_due_at")),
        "paper_due_date": last_day(deadlines.get("paper_delivery")),
        "publicity_end_date": last_day(deadlines.get("publicity_period")),
        "window_close_date": _iso_day(round_info.get("window_closes")),
        "due_end": end_time(stored.get("due_at")),
        "old_due_end": end_time(stored.get("old_due_at")),
        "paper_due_end": end_time(deadlines.get("paper_delivery")),
        "publicity_end": end_time(deadlines.get("publicity_period")),
        "window_close_end": _window_end(round_info.get("window_closes")),
        "paper_working_days": round_info.get("paper_working_days"),
        "rung": stored.get("rung"),
        "from_label": stored.get("from_label"),
        "to_label": stored.get("to_label"),
        "service_windows": windows,
        "service_window": next((w for w in windows if w.get("number") == window_number), None),
        "failed_notice": stored.get("failed_notice"),
        "payload": payload,  # the event's declared payload fields (e.g. a clawback's amount, LG-CLAW-1)
    }


def _iso_day(value: str | None) -> str | None:
    """``2025-09-13`` or ``2024-12-09T18:00:00+08:00`` as ``2025年9月13日`` (Asia/Shanghai)."""
    if not value:
        return None
    if "T" in value:
        return zh_date(datetime.fromisoformat(value))
    year, month, day = (int(part) for part in value.split("-"))
    return f"{year}年{month}月{day}日"
