"""Time, injected.

No module of FilingFlow reads the wall clock except :class:`SystemClock` (ruff's
banned-api rule enforces it), so every deadline, window and reminder is testable by
moving a :class:`ManualClock`. Instants are timezone-aware UTC; the programs' rules are
stated in Asia/Shanghai, which :data:`SHANGHAI` names.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Source of the current instant (aware, UTC)."""

    def now(self) -> datetime: ...


def ensure_aware(value: datetime, *, field: str = "time") -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes (their zone is a guess)."""
    from workflow.errors import InvalidInput

    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must carry a timezone offset", field=field)
    return value.astimezone(UTC)


class SystemClock:
    """The real clock; the only place that reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: tests, the demo, the sandbox."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_aware(start, field="start")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = ensure_aware(instant, field="instant")

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def shanghai_day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Shanghai, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def shanghai_day_end(day: date) -> datetime:
    """The instant a day ends in Asia/Shanghai (next midnight), as UTC."""
    return shanghai_day_start(day) + timedelta(days=1)
