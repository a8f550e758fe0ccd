"""The training-voucher provider catalogue (训力券入库服务机构), as data with validity dates.

The Shenzhen Science, Technology and Innovation Bureau publishes which service providers are
in the catalogue and for how long; both programs read this one list, by the provider's unified
social credit code. Shenzhen: a catalogued provider cannot also apply for vouchers
(SZ-ELIG-4), and contracts must be with a provider catalogued when the contract is signed
(SZ-ELIG-5). Longgang: a supplier qualifies by the catalogue route when its entry is valid
(在认定有效期内) on the day the case is (re)submitted (LG-ELIG-5). The
entries below are illustrative placeholders (the real list is loaded by the office); each
code carries a valid GB 32100-2015 check digit so the rules can be exercised end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflow.applicants import uscc_check_digit


def _code(first17: str) -> str:
    return first17 + uscc_check_digit(first17)


@dataclass(frozen=True, slots=True)
class CataloguedProvider:
    code: str
    name: str
    valid_from: date
    valid_until: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


CATALOGUE: tuple[CataloguedProvider, ...] = (
    CataloguedProvider(
        _code("91440300MA5G00001"), "示例智算服务有限公司（样例）", date(2024, 7, 1), date(2026, 12, 31)
    ),
    CataloguedProvider(
        _code("91440300MA5G00002"), "示例大模型科技有限公司（样例）", date(2024, 7, 1), date(2026, 12, 31)
    ),
    CataloguedProvider(
        _code("91440300MA5G00003"), "示例算力云有限公司（样例，已过期）", date(2024, 7, 1), date(2024, 10, 31)
    ),
)


def ever_catalogued(code: str, catalogue: tuple[CataloguedProvider, ...] = CATALOGUE) -> bool:
    """Whether ``code`` has a catalogue entry at all (whatever its validity)."""
    return any(p.code == code for p in catalogue)


def catalogued(code: str, on: date, catalogue: tuple[CataloguedProvider, ...] = CATALOGUE) -> CataloguedProvider | None:
    """The catalogue entry for ``code`` valid on ``on``, if any."""
    return next((p for p in catalogue if p.code == code and p.valid_on(on)), None)
