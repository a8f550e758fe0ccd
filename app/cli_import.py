"""``filingflow cases import``: a staff batch from the portal's spreadsheet, dry run first (app/batch_import.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.batch_import import apply_import, describe, plan_import, read_rows
from app.bootstrap import bootstrap
from app.cli_progress import step
from app.settings import Settings
from workflow.definition import Actor


def cases_import(
    path: Annotated[Path, typer.Argument(metavar="FILE", help=".xlsx or .csv: credit code and time columns.")],
    program: Annotated[str, typer.Option(help="The program round the cases belong to.")],
    event: Annotated[str, typer.Option(help="The event each listed case takes.")],
    field: Annotated[str, typer.Option("--field", help="Payload field that carries each row's time.")],
    actor: Annotated[str, typer.Option("--actor", help="Staff member responsible (recorded in the audit).")],
    apply: Annotated[bool, typer.Option("--apply", help="Do it (without: a dry run that only reports).")] = False,
) -> None:
    """Fire EVENT on the case of each credit code in FILE, with the row's time in the payload.

    Without --apply, a dry run: which cases would move and which rows are refused and why.
    """
    engine = bootstrap(Settings.from_env())
    rows = read_rows(path)
    who = Actor(actor, "staff", "cli:import")
    try:
        if apply:
            with step(f"importing {len(rows)} rows of {path.name}"):
                report = apply_import(engine, rows, program=program, event=event, field_name=field, actor=who)
        else:
            report = plan_import(engine, rows, program=program, event=event, actor=who)
    finally:
        engine.database.dispose()
    for line in describe(report, applied=apply):
        typer.echo(line)
    if not apply and report.moves:
        typer.echo("dry run: nothing was changed; run again with --apply to move these cases", err=True)
    if apply and report.refused:
        raise typer.Exit(1)
