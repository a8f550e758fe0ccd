"""The parameters of one Longgang AI compute subsidy round.

The process is the same every year; a new round changes only these numbers and dates
(``LONGGANG_2025`` is the one the 2025 guide states).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from workflow.clock import shanghai_day_end, shanghai_day_start


@dataclass(frozen=True, slots=True)
class LonggangRound:
    key: str
    version: int
    year: int
    window_opens: date
    window_closes: date
    paper_working_days: int = 5
    publicity_working_days: int = 5  # the guide does not fix it (LG-FLOW-6)
    min_fees_fen: int = 50_000_000
    subsidy_percent: Decimal = Decimal(30)
    cap_fen: int = 600_000_000
    min_capacity_pflops: Decimal = Decimal(2000)

    @property
    def opens_at(self) -> datetime:
        """First instant of the window (Asia/Shanghai midnight), LG-WIN-1."""
        return shanghai_day_start(self.window_opens)

    @property
    def closes_at(self) -> datetime:
        """First instant after the window (the closing day is inclusive), LG-WIN-1."""
        return shanghai_day_end(self.window_closes)


LONGGANG_2025 = LonggangRound(
    key="longgang-ai-compute-2025",
    version=1,
    year=2025,
    window_opens=date(2025, 8, 13),
    window_closes=date(2025, 9, 13),
)
