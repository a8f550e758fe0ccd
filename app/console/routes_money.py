"""The console's 资金报表 page: money granted, redeemed, expired and remaining per round and applicant.

The figures are :func:`app.reports.money_report`'s, the very sums ``/v1/reports/money`` gives
(each program names its own figures; programs without any are left out); the CSV download is
:func:`app.reports.report_rows`, amounts in CNY. An unknown or figure-less round is named as
the ``program`` field: a 404 or 422 page, never an empty report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.api.problems import ApiProblem
from app.console import zh
from app.console.exports import to_csv
from app.console.web import ConsoleDenied, ConsoleDep, SessionDep
from app.reports import money_report, report_rows
from workflow.errors import FilingFlowError, NotFound

router = APIRouter(prefix="/console", include_in_schema=False)
ProgramQuery = Annotated[str, Query(max_length=80)]


@router.get("/reports/money", response_class=HTMLResponse)
def money_page(request: Request, console: ConsoleDep, session: SessionDep, program: ProgramQuery = "") -> Response:
    reporting = [p for p in console.engine.programs.latest() if p.definition.figures is not None]
    try:
        report = money_report(console.engine, program or None)
    except FilingFlowError as exc:
        status = 404 if isinstance(exc, NotFound) else 422
        return console.render(
            "money.html.j2",
            session,
            request,
            status=status,
            error=zh.error(exc),
            report=None,
            reporting=reporting,
            program=program,
            headings={},
        )
    labels = {k: v for p in console.engine.programs for k, v in p.definition.figure_labels.items()}
    headings = {name: labels.get(name, name) for name in report.figures}  # each program heads its own figures
    return console.render(
        "money.html.j2", session, request, report=report, reporting=reporting, program=program, headings=headings
    )


@router.get("/reports/money.csv")
def money_csv(console: ConsoleDep, session: SessionDep, program: ProgramQuery = "") -> Response:
    """The report as CSV (UTF-8 with BOM), one row per applicant and round, then each round's total."""
    try:
        report = money_report(console.engine, program or None)
    except NotFound as exc:
        raise ConsoleDenied(404, str(exc)) from None
    except FilingFlowError as exc:
        raise ApiProblem(422, "invalid-input", "Invalid input", str(exc), field=exc.field or "program") from None
    stem = f"money-report-{program}" if program else "money-report"
    return Response(
        to_csv(report_rows(report)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )
