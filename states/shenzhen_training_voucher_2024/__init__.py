"""2024 Shenzhen training-compute voucher (seed ``004_2c7e5ca46a49e14d.txt``, rules SZ-*)."""

from .process import build
from .round import SHENZHEN_2024, VoucherRound

__all__ = ["SHENZHEN_2024", "VoucherRound", "build"]
