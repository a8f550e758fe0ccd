"""Exports of a round: the publicity list (公示名单) and all cases, as CSV and XLSX, for Excel and WPS.

CSV is UTF-8 with a BOM, so Excel reads the Chinese correctly. Applicant names come from the
applicants themselves, and Excel runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula: ``=HYPERLINK("http://…","点此")``
in a company name would become a live link in the reviewer's spreadsheet. Every such text
cell is written with a leading single quote, which Excel shows as plain text (OWASP's
advice for CSV injection).

XLSX (openpyxl) gets the same protection in its own terms: every text cell is stored as a
string, never a formula (openpyxl would otherwise store ``=...`` as one), and a text that
looks like a formula is also marked "quote prefix", Excel's own flag for text typed after an
apostrophe, so editing the cell later does not turn it into a formula either. The cell shows
the applicant's text exactly, without an added quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

from app.console import queries
from workflow.money import format_yuan
from workflow.process import CompiledProcess

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

PUBLICITY_HEADER = ["序号", "申报单位", "统一社会信用代码", "项目", "拟支持金额（元）"]
CASES_HEADER = [
    "业务编号",
    "申报单位",
    "统一社会信用代码",
    "状态",
    "状态名称",
    "金额（元）",
    "首次提交时间",
    "最近期限",
]


def neutralise(value: object) -> object:
    """A text cell Excel would evaluate, made literal with a leading quote; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _yuan(fen: int | None) -> str:
    return format_yuan(fen) if fen is not None else ""


def publicity_rows(process: CompiledProcess, rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[object]]:
    yield PUBLICITY_HEADER
    for i, r in enumerate(rows, 1):
        yield [i, r["applicant_name"], r["applicant_code"], process.definition.title, _yuan(r["amount_fen"])]


def case_rows(process: CompiledProcess, rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[object]]:
    yield CASES_HEADER
    for r in rows:
        state = process.states[r["state"]].label if r["state"] in process.states else r["state"]
        yield [
            r["id"],
            r["applicant_name"],
            r["applicant_code"],
            r["state"],
            state,
            _yuan(r["amount_fen"]),
            queries.local(r["submitted_at"]),
            queries.local(r["next_due"]),
        ]


def to_csv(rows: Iterable[Sequence[object]]) -> bytes:
    """The rows as CSV bytes, UTF-8 with BOM, every formula-looking text cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[Sequence[object]], *, title: str) -> bytes:
    """The rows as an XLSX workbook of one sheet, header frozen, no cell a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit for a sheet name
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a string, whatever it starts with
                if cell.value.startswith(FORMULA_STARTS):
                    cell.quotePrefix = True
    for column, width in zip("ABCDEFGH", (10, 36, 22, 18, 24, 16, 20, 20), strict=False):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
