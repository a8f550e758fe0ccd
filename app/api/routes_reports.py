"""``/v1/reports/money``: granted, redeemed and expired amounts per applicant and per round (staff).

The figures come from each program's definition (:mod:`app.reports`); JSON in integer fen,
CSV (UTF-8 with BOM, formula-looking cells neutralised) in CNY for a spreadsheet.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from app.api.deps import CallerDep, EngineDep, require_role
from app.console.exports import to_csv
from app.reports import Line, money_report, report_rows

router = APIRouter(prefix="/v1/reports", tags=["programs"])
ProgramQuery = Annotated[str | None, Query(max_length=80, description="one program round's key (all if absent)")]


class MoneyLineOut(BaseModel):
    program: str
    title: str
    applicant_code: str | None
    applicant_name: str | None
    cases: int
    figures: dict[str, int]


class MoneyReportOut(BaseModel):
    figures: list[str]
    rounds: list[MoneyLineOut]
    applicants: list[MoneyLineOut]


def _line(line: Line) -> dict[str, Any]:
    return {
        "program": line.program,
        "title": line.title,
        "applicant_code": line.applicant_code,
        "applicant_name": line.applicant_name,
        "cases": line.cases,
        "figures": line.figures,
    }


@router.get("/money", response_model=MoneyReportOut)
def money_report_json(engine: EngineDep, caller: CallerDep, program: ProgramQuery = None) -> dict[str, Any]:
    """Per round and per applicant: each money figure the program names (a voucher: granted, redeemed,
    expired, remaining), in integer fen. Staff and admin only."""
    require_role(caller, "staff", "admin")
    report = money_report(engine, program)
    return {
        "figures": list(report.figures),
        "rounds": [_line(line) for line in report.rounds],
        "applicants": [_line(line) for line in report.applicants],
    }


@router.get("/money.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def money_report_csv(engine: EngineDep, caller: CallerDep, program: ProgramQuery = None) -> Response:
    """The same report as CSV, amounts in CNY: one row per applicant and round, then each round's total."""
    require_role(caller, "staff", "admin")
    body = to_csv(report_rows(money_report(engine, program)))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="money-report.csv"'},
    )
