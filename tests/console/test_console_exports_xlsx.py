"""XLSX exports beside the CSV (issue 15, item 8): same rows, and no applicant text ever becomes a formula."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import load_workbook

from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data

HOSTILE = '=HYPERLINK("http://x","y")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_xlsx_exports_hold_the_csv_rows_with_formula_text_kept_as_text(console: Console) -> None:
    engine = console.engine
    case_id = engine.open_case(
        PROGRAM, applicant={**applicant(1), "name": HOSTILE}, data=complete_data(), actor=PLATFORM
    ).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.override(case_id, "publicity", actor=STAFF, reason="测试")
    engine.open_case(
        PROGRAM, applicant={**applicant(2), "name": "+86 深圳市测试科技2号"}, data=complete_data(), actor=PLATFORM
    )
    with console.signed_in() as http:
        for kind, title in (("cases", "案件"), ("publicity", "公示名单")):
            response = http.get(f"/console/rounds/{PROGRAM}/{kind}.xlsx")
            assert response.status_code == 200
            assert response.headers["content-type"] == XLSX
            assert response.headers["content-disposition"].endswith('.xlsx"')
            as_csv = list(
                csv.reader(io.StringIO(http.get(f"/console/rounds/{PROGRAM}/{kind}.csv").text.lstrip("\ufeff")))
            )
            sheet = load_workbook(io.BytesIO(response.content)).active
            assert sheet is not None
            assert sheet.title == title
            values = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            # the same rows as the CSV, but the applicant's text exactly (no added quote: the cell is typed text)
            assert values == [[cell[1:] if cell.startswith("'") else cell for cell in row] for row in as_csv]
            hostile = next(c for row in sheet.iter_rows() for c in row if c.value == HOSTILE)
            assert hostile.data_type == "s"
            assert hostile.quotePrefix is True
            with zipfile.ZipFile(io.BytesIO(response.content)) as package:
                xml = package.read("xl/worksheets/sheet1.xml").decode()
            assert "<f>" not in xml, "no cell is a formula"
        page = http.get("/console/rounds").text
    assert f"/console/rounds/{PROGRAM}/publicity.xlsx" in page
    assert f"/console/rounds/{PROGRAM}/cases.xlsx" in page
