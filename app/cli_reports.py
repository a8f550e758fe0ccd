"""``filingflow reports``: the money report (granted, redeemed, expired) for staff at a terminal.

The same report as ``GET /v1/reports/money`` (:mod:`app.reports`): a table by default, CSV with
``--csv`` (to stdout, or ``--out FILE``) for a spreadsheet.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from app.bootstrap import bootstrap
from app.console.exports import to_csv
from app.reports import money_report, report_rows
from app.settings import Settings
from workflow.money import format_yuan

reports_cli = typer.Typer(no_args_is_help=True, help="Money reports per applicant and per round.")


@reports_cli.command("money")
def money(
    program: Annotated[
        str | None, typer.Option(help="One program round's key (every round with figures if absent).")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV (UTF-8 with BOM) instead of a table.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the CSV to this file instead of stdout.")] = None,
) -> None:
    """Granted, redeemed, expired and remaining amounts per applicant and per round (SZ-REDEEM-1/2)."""
    report = money_report(bootstrap(Settings.from_env()), program)
    if csv or out is not None:
        body = to_csv(report_rows(report))
        if out is None:
            sys.stdout.buffer.write(body)
        else:
            out.write_bytes(body)
            typer.echo(f"wrote {out}")
        return
    for line in [*report.applicants, *report.rounds]:
        who = f"{line.applicant_name} ({line.applicant_code})" if line.applicant_code else "round total"
        figures = ", ".join(f"{k.removesuffix('_fen')} {format_yuan(v)}" for k, v in line.figures.items())
        typer.echo(f"{line.program}  {who}: {line.cases} cases; {figures} CNY")
