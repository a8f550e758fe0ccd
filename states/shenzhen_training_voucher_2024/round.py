"""The parameters of one Shenzhen training-compute voucher round (``SHENZHEN_2024`` per the 2024 guide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from workflow.clock import SHANGHAI


@dataclass(frozen=True, slots=True)
class VoucherRound:
    key: str
    version: int
    year: int
    opens_at: datetime  # SZ-WIN-1
    closes_at: datetime  # SZ-WIN-1: 18:00, not midnight
    guide_published: date  # SZ-AMT-3: start-ups are counted from here
    contracts_from: date  # SZ-ELIG-5
    contracts_until: date  # SZ-ELIG-5
    base_percent: Decimal = Decimal(50)  # SZ-AMT-1
    startup_percent: Decimal = Decimal(60)  # SZ-AMT-3
    startup_min_spend_fen: int = 50_000_000  # SZ-AMT-3: 500,000 CNY a year
    cap_sme_fen: int = 300_000_000  # SZ-AMT-2: 3,000,000 CNY
    cap_other_fen: int = 200_000_000  # SZ-AMT-2: 2,000,000 CNY for enterprises that are not SMEs
    max_other_funding_percent: Decimal = Decimal(50)  # SZ-ELIG-3
    publicity_working_days: int = 5
    redeem_reminder_days: tuple[int, ...] = (30, 7)  # SZ-REDEEM-2: calendar days before the period ends

    @property
    def performance_ends_at(self) -> datetime:
        """SZ-REDEEM-2: the end of the last day of the performance period (2026-12-31 24:00 Asia/Shanghai)."""
        return datetime.combine(self.contracts_until + timedelta(days=1), time(0, 0), tzinfo=SHANGHAI)


SHENZHEN_2024 = VoucherRound(
    key="shenzhen-training-voucher-2024",
    version=1,
    year=2024,
    opens_at=datetime(2024, 11, 19, 0, 0, tzinfo=SHANGHAI),
    closes_at=datetime(2024, 12, 9, 18, 0, tzinfo=SHANGHAI),
    guide_published=date(2024, 11, 19),
    contracts_from=date(2024, 7, 31),
    contracts_until=date(2026, 12, 31),
)
