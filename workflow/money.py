"""Exact money: yuan given as strings or integers, kept as integer fen.

Floats are refused outright: ``0.1 + 0.2`` is not a sum of money. Percentages are
applied with :class:`~decimal.Decimal` and rounded half-up to the fen once, at the end.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from workflow.errors import InvalidInput


def parse_yuan(value: object, *, field: str) -> int:
    """``"500000.00"`` -> ``50000000`` fen; refuses floats, negatives and sub-fen digits."""
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise InvalidInput('amount must be a decimal string such as "500000.00"', field=field)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(f"amount {value!r} is not a number", field=field) from None
    if not amount.is_finite():
        raise InvalidInput(f"amount {value!r} is not a finite number", field=field)
    if amount < 0:
        raise InvalidInput(f"amount {value!r} must not be negative", field=field)
    if amount.adjusted() > 13:  # checked before arithmetic: "1e999999" would overflow the context
        raise InvalidInput(f"amount {value!r} is implausibly large", field=field)
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise InvalidInput(f"amount {value!r} has more than two decimal places", field=field)
    if fen > 10**15:
        raise InvalidInput(f"amount {value!r} is implausibly large", field=field)
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """``15000000`` -> ``"150000.00"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_yuan(fen: int) -> str:
    """``15000000`` -> ``"150,000.00"`` for people."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent_of(fen: int, percent: Decimal) -> int:
    """``percent`` % of ``fen``, rounded half-up to the fen."""
    return int((Decimal(fen) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
