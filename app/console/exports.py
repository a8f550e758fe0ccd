"""CSV exports of a round: the publicity list (公示名单) and all cases, for Excel.

UTF-8 with a BOM, so Excel reads the Chinese correctly. Applicant names come from the
applicants themselves, and Excel runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula: ``=HYPERLINK("http://…","点此")``
in a company name would become a live link in the reviewer's spreadsheet. Every such text
cell is written with a leading single quote, which Excel shows as plain text (OWASP's
advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

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
