"""``filingflow lists``: the official lists (LG-LIST-1, SZ-LIST-1): show, add, remove, import (dry run first)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.bootstrap import bootstrap
from app.list_files import read_list_file
from app.settings import Settings
from workflow.definition import Actor
from workflow.listings import Listings

lists_cli = typer.Typer(no_args_is_help=True, help="The official lists eligibility is checked against.")
ActorOption = Annotated[str, typer.Option("--actor", help="Staff member responsible (recorded on the entry).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded on the entry).")]


def _lists() -> Listings:
    return Listings(bootstrap(Settings.from_env()))


def _done(lists: Listings) -> None:
    lists.context.database.dispose()


@lists_cli.command("show")
def show(
    code: Annotated[str | None, typer.Option("--code", help="Only this credit code.")] = None,
    list_key: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed entries.")] = False,
) -> None:
    """Print the entries (one JSON object a line) and the lists the programs check."""
    lists = _lists()
    try:
        for key, official in sorted(lists.known_lists().items()):
            typer.echo(f"# {key}: {official.label} ({official.label_en})", err=True)
        for entry in lists.entries(applicant_code=code, list_key=list_key, include_removed=removed):
            typer.echo(json.dumps(entry, ensure_ascii=False))
    finally:
        _done(lists)


@lists_cli.command("add")
def add(
    list_key: Annotated[str, typer.Option("--list", help="The list's key (see `lists show`).")],
    code: Annotated[str, typer.Option("--code", help="The applicant's unified social credit code.")],
    since: Annotated[str, typer.Option("--since", help="First day on the list, YYYY-MM-DD.")],
    source: Annotated[str, typer.Option("--source", help="Where the entry comes from (the publishing body).")],
    actor: ActorOption,
    reason: ReasonOption,
    until: Annotated[str | None, typer.Option("--until", help="Last day on the list (absent: open).")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """Add one entry by hand; open cases of the applicant are flagged for staff."""
    lists = _lists()
    values = {"list": list_key, "credit_code": code, "since": since, "until": until, "source": source, "note": note}
    try:
        entry, flagged = lists.add(values, actor=Actor(actor, "staff", "cli:lists"), reason=reason)
    finally:
        _done(lists)
    typer.echo(json.dumps({"entry": entry, "flagged_cases": flagged}, ensure_ascii=False))


@lists_cli.command("remove")
def remove(
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY_ID")],
    actor: ActorOption,
    reason: ReasonOption,
) -> None:
    """Take an entry off its list (the entry stays on record, marked removed)."""
    lists = _lists()
    try:
        entry = lists.remove(entry_id, actor=Actor(actor, "staff", "cli:lists"), reason=reason)
    finally:
        _done(lists)
    typer.echo(json.dumps(entry, ensure_ascii=False))


@lists_cli.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(metavar="FILE", help=".csv or .xlsx: list, credit_code, since, until, ...")],
    actor: ActorOption,
    reason: ReasonOption,
    apply: Annotated[bool, typer.Option("--apply", help="Do it (without: a dry run that only reports).")] = False,
) -> None:
    """Import FILE: without --apply a dry run; a file with any bad row is refused whole (line, column)."""
    rows = read_list_file(path.name, path.read_bytes())
    lists = _lists()
    try:
        report = lists.import_rows(rows, actor=Actor(actor, "staff", "cli:lists"), reason=reason, apply=apply)
    finally:
        _done(lists)
    for error in report.errors:
        typer.echo(f"refused: {error}", err=True)
    verb = "added" if apply else "would add"
    typer.echo(f"{verb} {len(report.added)}, unchanged {len(report.unchanged)}, errors {len(report.errors)}")
    if report.flagged_cases:
        typer.echo(f"flagged cases: {', '.join(map(str, report.flagged_cases))}")
    if report.errors:
        raise typer.Exit(1)
    if not apply and report.added:
        typer.echo("dry run: nothing was changed; run again with --apply", err=True)
