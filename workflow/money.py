"""Exact money: yuan typed by people, read strictly, kept as integer fen.

A typed amount is never guessed. ``"500000,00"`` could be five hundred thousand yuan written
the European way or fifty million written carelessly; reading it either way gives someone the
wrong subsidy, so it is refused and the applicant is asked again. :func:`parse_yuan` accepts
exactly the forms a Chinese office writes (see its docstring) and refuses everything else with
an error naming the field and quoting what was read.

Percentages are applied with :class:`~decimal.Decimal` and rounded to the fen once, at the
end, in the direction the guide's wording demands: :func:`percent_ceiling` rounds *down* for
"不超过 N%" (a ceiling must never be exceeded, not even by a fen); :func:`percent_of` rounds
half-up for a plain rate ("按 N% 予以支持": the nearest fen to the rate).
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from workflow.errors import InvalidInput

MAX_FEN = 10**15
"""10,000,000,000,000.00 CNY: beyond any program's amounts; larger is a typing accident."""

_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
"""Full-width digits, dot and comma (an IME left in full-width mode) read as their ASCII twins."""

_YUAN = re.compile(
    r"""
    (?P<whole> 0 | [1-9][0-9]* | [1-9][0-9]{0,2} (?:,[0-9]{3})+ )   # 0, 1200000 or 1,200,000
    (?: \. (?P<fraction> [0-9]{1,2} ) )?                             # .5 or .50, never .505
    """,
    re.VERBOSE,
)

ACCEPTED_FORMS = (
    'plain digits ("1200000"), optionally a dot and one or two decimals ("1200000.5", "1200000.50"), '
    'optionally comma thousands separators in groups of three ("1,200,000.00"); full-width digits count'
)


def parse_yuan(value: object, *, field: str) -> int:
    """An amount of yuan, as typed, to integer fen; anything ambiguous is refused.

    Accepted: a whole number of yuan as a JSON integer (``500000``), or a string of plain
    digits (``"500000"``), optionally with a dot and one or two decimals (``"500000.5"``,
    ``"500000.00"``), optionally with comma thousands separators in exact groups of three
    (``"1,200,000.00"``); full-width digits, dot and comma (``"５０００００．００"``) are read as
    ASCII. Whitespace around the amount is ignored (a pasted cell often carries it).

    Refused, each with an :class:`InvalidInput` naming ``field`` and quoting the value:
    floats and booleans; a comma as the decimal mark (``"500000,00"``); other groupings
    (``"1,20,000"``, ``"1200,000"``); exponents (``"1.2e6"``); currency signs and units
    (``"￥500000"``, ``"500000元"``); spaces inside; signs (``"+5"``, ``"-5"``); a dot
    without a digit before or after it (``".5"``, ``"5."``); leading zeros (``"0500000"``,
    a digit too many or a code pasted in the wrong box); more than two decimals; more than
    :data:`MAX_FEN`.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "a number with a fraction" if isinstance(value, float) else type(value).__name__
        raise InvalidInput(
            f'amount must be written as text such as "500000.00" (or a whole number of yuan), '
            f"not {kind}: read {value!r}",
            field=field,
        )
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"amount must not be negative: read {value!r}", field=field)
        fen = value * 100
    else:
        fen = _parse_text(value, field)
    if fen > MAX_FEN:
        raise InvalidInput(f"amount is implausibly large: read {value!r}", field=field)
    return fen


def _parse_text(value: str, field: str) -> int:
    text = value.strip().translate(_FULL_WIDTH)
    match = _YUAN.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise InvalidInput(f"{_why(text)}: read {value!r}; accepted: {ACCEPTED_FORMS}", field=field)
    whole = int(match["whole"].replace(",", ""))
    fraction = (match["fraction"] or "").ljust(2, "0")
    return whole * 100 + int(fraction or "0")


def _why(text: str) -> str:
    """The first thing wrong with a refused amount, in words an applicant understands."""
    if not text:
        return "amount is empty"
    if text[0] in "+-":
        return "amount must be written without a sign" + (" (it must not be negative)" if text[0] == "-" else "")
    if any(ch.isspace() for ch in text):
        return "amount must not contain spaces"
    if re.search(r"[eE]", text):
        return "amount must be written out in digits, not with an exponent"
    if re.search(r",[0-9]{1,2}$", text):
        return "a comma cannot be the decimal mark: write 500000.00, not 500000,00"
    if re.search(r"\.[0-9]{3,}$", text):
        return "amount has more than two decimal places (a fen is the smallest unit)"
    if "," in text:
        return "comma thousands separators must split the digits into groups of three (1,200,000.00)"
    if text.startswith(".") or text.endswith("."):
        return "a dot needs digits on both sides (0.50, not .5 or 5.)"
    if re.fullmatch(r"0[0-9]+(\.[0-9]*)?", text):
        return "amount must not start with a zero"
    return "amount is not written in digits (no currency sign or unit)"


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
    """``percent`` % of ``fen`` as a rate ("按 N% 予以支持"): the nearest fen, half-up."""
    return int((Decimal(fen) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_ceiling(fen: int, percent: Decimal) -> int:
    """At most ``percent`` % of ``fen`` ("不超过 N%"): rounded down, never a fen above the ceiling."""
    return int((Decimal(fen) * percent / 100).quantize(Decimal(1), rounding=ROUND_DOWN))
