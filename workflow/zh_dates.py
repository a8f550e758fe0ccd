"""Instants and days as a zh-CN notice prints them, in Asia/Shanghai.

Shared by the generic notice context (``notifications/context.py``) and the programs' own
notice context (each program package's ``notices.py``), so that a due date reads the same in
every notice of every program: ``2025年10月10日``, and an exact end as ``2024年12月9日18:00`` or
``2025年9月13日24:00`` (SZ-WIN-1: a notice that names when something closes names the time that
matters, so nobody reads "12月9日" as "until midnight"). ``None`` in, ``None`` out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.clock import SHANGHAI


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


def iso_day(value: str | None) -> str | None:
    """``2025-09-13`` or ``2024-12-09T18:00:00+08:00`` as ``2025年9月13日`` (Asia/Shanghai)."""
    if not value:
        return None
    if "T" in value:
        return zh_date(datetime.fromisoformat(value))
    year, month, day = (int(part) for part in value.split("-"))
    return f"{year}年{month}月{day}日"


def window_end(value: str | None) -> str | None:
    """A close given as an instant (``2024-12-09T18:00:00+08:00``) or an inclusive last day (``2025-09-13``)."""
    if not value:
        return None
    if "T" in value:
        return end_time(value)
    return f"{iso_day(value)}24:00"
