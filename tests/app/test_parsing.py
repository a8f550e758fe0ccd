"""The one strict parser (issue 13 item 2): ASCII digits only, ranges checked, byte comparisons."""

from __future__ import annotations

import pytest

from app.parsing import NotAnInstant, instant, same, whole


@pytest.mark.parametrize(
    "raw", ["²", "١٢", "１", "9" * 30, "2147483648", "-1", "+1", "1.0", " 1", "1_0", "0x1", "", None, "٣"]
)
def test_whole_refuses_what_is_not_plain_ascii_digits_in_range(raw: str | None) -> None:
    assert whole(raw) is None


def test_whole_reads_ascii_digits_within_the_range() -> None:
    assert (whole("0"), whole("2147483647"), whole("007")) == (0, 2**31 - 1, 7)
    assert (whole("61", maximum=60), whole("0", minimum=1)) == (None, None)


@pytest.mark.parametrize("given", ["令牌", "é" * 64, "\udcff", "", "x" * 10_000, None])
def test_same_compares_any_text_without_raising(given: str | None) -> None:
    assert same("abc", given) is False
    assert same("令牌", "令牌") is True


@pytest.mark.parametrize("raw", ["0.5", "1700000000", "２０２５-01-01T00:00:00Z", "2025-13-01T00:00:00Z", "yesterday"])
def test_instant_is_rfc_3339_only(raw: str) -> None:
    with pytest.raises(NotAnInstant, match="due_before"):
        instant(raw, field="due_before")


def test_instant_reads_rfc_3339() -> None:
    assert instant("2025-10-10T23:59:59+08:00", field="x").isoformat() == "2025-10-10T23:59:59+08:00"
    assert instant("2025-10-10t15:59:59z", field="x").isoformat() == "2025-10-10T15:59:59+00:00"
