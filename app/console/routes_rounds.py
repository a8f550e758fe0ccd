"""The console's round overview and its exports (cases, publicity list) as CSV or XLSX."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.console import exports, queries
from app.console.web import ConsoleDenied, ConsoleDep, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/rounds", response_class=HTMLResponse)
def rounds(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    overview = [(p, queries.round_overview(console.engine, p.key)) for p in console.engine.programs.latest()]
    return console.render("rounds.html.j2", session, request, overview=overview)


@router.get("/rounds/{program_key}/{kind}.csv")
@router.get("/rounds/{program_key}/{kind}.xlsx")
def export(request: Request, console: ConsoleDep, session: SessionDep, program_key: str, kind: str) -> Response:
    if kind not in ("cases", "publicity"):
        raise ConsoleDenied(404, "no such export")
    process = console.program(program_key)
    if kind == "publicity" and not process.definition.publicity_states:
        raise ConsoleDenied(404, "this round publishes no list")
    rows = queries.export_rows(console.engine, process.key, publicity_only=kind == "publicity")
    table = exports.publicity_rows(process, rows) if kind == "publicity" else exports.case_rows(process, rows)
    stem = f"{process.key}-{'publicity-list' if kind == 'publicity' else 'cases'}"
    if request.url.path.endswith(".xlsx"):
        body = exports.to_xlsx(table, title="公示名单" if kind == "publicity" else "案件")
        return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})
    return Response(
        exports.to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
    )
