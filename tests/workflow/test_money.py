"""Typed amounts are read strictly, never guessed (LG-AMT-2, SZ-AMT-1), and percentages round as the guides say.

Each accepted form and each refused form has its own row; a refused amount names the field
and quotes what was read, so the applicant sees exactly which box to correct.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from workflow.errors import InvalidInput
from workflow.money import MAX_FEN, format_yuan, parse_yuan, percent_ceiling, percent_of

FIELD = "data.fees_cny"


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("500000", 50_000_000),  # plain digits
        ("0", 0),  # zero itself
        ("500000.5", 50_000_050),  # a dot and one decimal
        ("500000.00", 50_000_000),  # a dot and two decimals
        ("0.01", 1),  # the smallest amount: one fen
        ("1,200,000.00", 120_000_000),  # comma thousands separators in groups of three
        ("1,200,000", 120_000_000),  # separators without decimals
        ("999", 99_900),  # fewer than four digits need no separator
        ("１，２００，０００．００", 120_000_000),  # full-width digits, comma and dot (an IME left on)
        ("５０００００", 50_000_000),  # full-width digits alone
        ("  500000.00\t", 50_000_000),  # whitespace around a pasted cell is ignored
        (500000, 50_000_000),  # a JSON integer: whole yuan
        (0, 0),
        ("10000000000000.00", MAX_FEN),  # the largest amount accepted
    ],
)
def test_accepted_forms(typed: object, fen: int) -> None:
    # LG-AMT-2, SZ-AMT-1: the forms a Chinese office really writes
    assert parse_yuan(typed, field=FIELD) == fen


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("500000,00", "comma cannot be the decimal mark"),  # never read as 50,000,000.00
        ("500000,5", "comma cannot be the decimal mark"),
        ("1,20,000", "groups of three"),  # Indian grouping
        ("1200,000", "groups of three"),
        ("1,2000,000", "groups of three"),
        ("1,200,000,", "groups of three"),
        ("1.2e6", "exponent"),
        ("1E6", "exponent"),
        ("￥500000", "not written in digits"),
        ("¥500000", "not written in digits"),
        ("500000元", "not written in digits"),
        ("五十万", "not written in digits"),
        ("500 000", "spaces"),
        ("500\u3000000", "spaces"),  # a full-width space inside
        ("+5", "without a sign"),
        ("-5", "must not be negative"),
        ("-0.00", "without a sign"),
        (".5", "dot needs digits on both sides"),
        ("5.", "dot needs digits on both sides"),
        ("0500000", "must not start with a zero"),
        ("00.50", "must not start with a zero"),
        ("12.345", "more than two decimal places"),
        ("1.001", "more than two decimal places"),
        ("", "empty"),
        ("   ", "empty"),
        ("NaN", "not written in digits"),
        ("Infinity", "not written in digits"),
        ("1_000", "not written in digits"),
        ("٥٠٠", "not written in digits"),  # Arabic-Indic digits are not full-width digits
        ("10000000000000.01", "implausibly large"),
        ("9" * 41, "not written in digits"),  # very long input is refused before any arithmetic
    ],
)
def test_refused_forms_name_the_field_and_show_what_was_read(typed: str, says: str) -> None:
    # LG-AMT-2, SZ-AMT-1: anything ambiguous is refused, never guessed
    with pytest.raises(InvalidInput) as refused:
        parse_yuan(typed, field=FIELD)
    assert refused.value.field == FIELD
    assert says in refused.value.message
    assert repr(typed) in refused.value.message, "the error quotes what was read"


@pytest.mark.parametrize("typed", [1500000.5, 500000.0, True, False, None, Decimal("5.00"), [500000], -1, 10**14])
def test_refused_types(typed: object) -> None:
    # LG-AMT-2: floats are not money; booleans and other types are not amounts
    with pytest.raises(InvalidInput) as refused:
        parse_yuan(typed, field=FIELD)
    assert refused.value.field == FIELD
    assert repr(typed) in refused.value.message


@pytest.mark.parametrize(
    ("fen", "percent", "ceiling", "rate"),
    [
        (100_000_001, Decimal(50), 50_000_000, 50_000_001),  # SZ-AMT-1: 1,000,000.01 at 50% -> 500,000.00
        (100_000_000, Decimal(50), 50_000_000, 50_000_000),
        (1, Decimal(50), 0, 1),  # half a fen: the ceiling gives nothing, the rate rounds up
        (100_000_001, Decimal(60), 60_000_000, 60_000_001),  # SZ-AMT-3: 600,000.006 -> 600,000.00
        (123_456_789, Decimal(30), 37_037_036, 37_037_037),  # LG-AMT-2: 370,370.367 -> nearest fen
        (99_999_999, Decimal(50), 49_999_999, 50_000_000),
    ],
)
def test_ceilings_round_down_and_rates_round_to_the_nearest_fen(
    fen: int, percent: Decimal, ceiling: int, rate: int
) -> None:
    # SZ-AMT-1, SZ-AMT-3 ("不超过": never a fen above the percentage); LG-AMT-2 ("按30%": a rate)
    assert percent_ceiling(fen, percent) == ceiling
    assert percent_ceiling(fen, percent) * 100 <= fen * percent
    assert percent_of(fen, percent) == rate


def test_format_yuan_for_people() -> None:
    assert format_yuan(120_000_000) == "1,200,000.00"
    assert format_yuan(1) == "0.01"
