"""CSV exports: applicant-controlled text can never become a live formula in Excel."""

from __future__ import annotations

import csv
import io

import pytest

from app.console.exports import neutralise
from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data

HOSTILE = '=HYPERLINK("http://x","y")'


def _rows(raw: bytes) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_a_formula_in_an_applicant_name_is_exported_as_text(console: Console) -> None:
    engine = console.engine
    case_id = engine.open_case(
        PROGRAM, applicant={**applicant(1), "name": HOSTILE}, data=complete_data(), actor=PLATFORM
    ).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "publicity", actor=STAFF, reason="测试")
    engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM)
    with console.signed_in() as http:
        cases = _rows(http.get(f"/console/rounds/{PROGRAM}/cases.csv").content)
        publicity = _rows(http.get(f"/console/rounds/{PROGRAM}/publicity.csv").content)
    assert cases[1][1] == "'" + HOSTILE
    assert cases[2][1] == "深圳市测试科技2号有限公司", "ordinary names are untouched"
    assert publicity[1][1] == "'" + HOSTILE
    assert publicity[1][4] == "360,000.00"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_start_is_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["深圳市测试科技1号有限公司", "91440300000000001X", "360,000.00", "", 7])
def test_other_cells_are_left_alone(cell: object) -> None:
    assert neutralise(cell) == cell
