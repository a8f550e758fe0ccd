"""2025 Longgang District AI compute subsidy (seed ``000_f9ef2bf9b9d46dca.txt``, rules LG-*)."""

from .process import build
from .round import LONGGANG_2025, LonggangRound

__all__ = ["LONGGANG_2025", "LonggangRound", "build"]
