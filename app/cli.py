"""The ``filingflow`` command line: one console script, a Typer app per area."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from app.bootstrap import bootstrap, open_database
from app.cli_help import readable_help
from app.cli_import import cases_import
from app.cli_lists import lists_cli
from app.cli_operations import calendar_cli, cases_cli, deadlines_cli, notifications_cli, worker
from app.cli_progress import step
from app.cli_reports import reports_cli  # redeem: money per applicant and round
from app.cli_service import serve, tokens_cli
from app.keys import audit_key
from app.logging_setup import configure_logging
from app.settings import Settings, SettingsError
from workflow import schema
from workflow.audit import export_anchor, verify_chains
from workflow.clock import SHANGHAI, ManualClock
from workflow.database import read_only
from workflow.diagram import mermaid
from workflow.errors import FilingFlowError
from workflow.tables import audit_events, cases

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, rich_markup_mode=None, help="FilingFlow: funding-application workflows."
)
programs_cli = typer.Typer(no_args_is_help=True, help="The program rounds FilingFlow runs.")
audit_cli = typer.Typer(no_args_is_help=True, help="Verify and anchor the tamper-evident audit trail.")
db_cli = typer.Typer(no_args_is_help=True, help="Schema migrations (Alembic).")
cli.add_typer(programs_cli, name="programs")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(db_cli, name="db")
cli.add_typer(deadlines_cli, name="deadlines")
cli.add_typer(calendar_cli, name="calendar")
cli.add_typer(notifications_cli, name="notifications")
cli.add_typer(cases_cli, name="cases")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(reports_cli, name="reports")
cli.add_typer(lists_cli, name="lists")
cases_cli.command("import")(cases_import)
cli.command()(serve)
cli.command()(worker)

DEMO_DATABASE = Path("var/demo.db")


def _settings() -> Settings:
    return Settings.from_env()


@cli.command()
def demo() -> None:
    """Replay a 2025 Longgang round on a manual clock and print each case's timeline."""
    from datetime import datetime

    from app.demo import run_demo

    settings = _settings()
    if not settings.database_url_from_env:
        DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        settings = replace(settings, database_url=f"sqlite:///{DEMO_DATABASE}")
    clock = ManualClock(datetime(2025, 8, 14, 9, 0, tzinfo=SHANGHAI))
    engine = bootstrap(settings, clock=clock)
    with read_only(engine.database) as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one()
    if existing:  # the demo's applicants would collide with what is there (LG-ELIG-2) halfway through
        raise FilingFlowError(
            f"the database already holds {existing} cases; the demo needs an empty one "
            "(unset FILINGFLOW_DATABASE_URL for a fresh ./var/demo.db)",
            field="FILINGFLOW_DATABASE_URL",
        )
    typer.echo(f"FilingFlow demo on {engine.database.url.render_as_string(hide_password=True)} (manual clock)")
    run_demo(engine, clock, typer.echo)
    program = sys.argv[0] if "/" in sys.argv[0] else "filingflow"  # the way it was called: .venv/bin/filingflow
    typer.echo(f"\nInspect it: FILINGFLOW_DATABASE_URL={engine.database.url} {program} audit verify")


@programs_cli.command("list")
def programs_list() -> None:
    """Every registered program round with its version, states and events."""
    from states.registry import catalog

    for process in catalog(_settings().programs):
        d = process.definition
        typer.echo(f"{d.key}  v{d.version}  {d.title} ({d.title_en})  {len(d.states)} states, {len(d.events)} events")


@programs_cli.command("diagram")
def programs_diagram(
    key: str,
    version: Annotated[int | None, typer.Option(help="Definition version (default: newest).")] = None,
) -> None:
    """Print the program's state diagram as Mermaid, generated from its definition."""
    from states.registry import catalog

    typer.echo(mermaid(catalog(_settings().programs).get(key, version).definition), nl=False)


@programs_cli.command("migrate")
def programs_migrate(
    key: str,
    from_version: Annotated[int, typer.Option("--from", help="Version the open cases are on.")],
    to_version: Annotated[int, typer.Option("--to", help="Version to move them to.")],
    actor: Annotated[str, typer.Option(help="Staff member responsible (audited).")],
    reason: Annotated[str, typer.Option(help="Why (audited).")],
    map_: Annotated[list[str] | None, typer.Option("--map", help="OLD_STATE=NEW_STATE, repeatable.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Check and show the moves without doing them.")] = False,
) -> None:
    """Move a program's open cases to a new definition version with an explicit state mapping."""
    from workflow.definition import Actor

    mapping: dict[str, str] = {}
    for item in map_ or []:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise typer.BadParameter(f"{item!r} is not OLD_STATE=NEW_STATE", param_hint="--map")
        mapping[old] = new
    engine = bootstrap(_settings())
    with step(f"{'checking' if dry_run else 'migrating'} the open cases of {key} v{from_version} -> v{to_version}"):
        plan = engine.migrate_cases(
            key,
            from_version=from_version,
            to_version=to_version,
            mapping=mapping,
            actor=Actor(actor, "staff", "cli"),
            reason=reason,
            dry_run=dry_run,
        )
    for case_id, before, after in plan.moves:
        typer.echo(f"case {case_id}: {before} -> {after}")
    verb = "would move" if dry_run else "moved"
    typer.echo(f"{verb} {len(plan.moves)} open cases of {key} from v{from_version} to v{to_version}")


@audit_cli.command("verify")
def audit_verify(
    anchor: Annotated[Path | None, typer.Option(help="An anchor file exported earlier.")] = None,
) -> None:
    """Walk every case's hash chain; exit 1 and name the first broken link of each."""
    settings = _settings()
    engine = bootstrap(settings, migrate=False)
    heads = json.loads(anchor.read_text()) if anchor else None
    with read_only(engine.database) as conn:  # one snapshot: a concurrent command is no false alarm
        size = conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
        with step(f"walking the hash chains of {size} audit events"):
            report = verify_chains(conn, audit_key(settings), anchor=heads, programs=engine.programs)
    for link in report.broken:
        typer.echo(f"BROKEN {link}", err=True)
    status = "OK" if report.ok else "FAILED"
    typer.echo(f"audit verify {status}: {report.cases} cases, {report.events} events, {len(report.broken)} broken")
    raise typer.Exit(0 if report.ok else 1)


@audit_cli.command("anchor")
def audit_anchor(
    out: Annotated[Path | None, typer.Option(help="Write the anchor here instead of stdout.")] = None,
) -> None:
    """Export every chain head; keep it outside the database to detect a truncated tail later."""
    engine = bootstrap(_settings(), migrate=False)
    with read_only(engine.database) as conn:
        anchor = export_anchor(conn, at=engine.clock.now())
    text = json.dumps(anchor, indent=2, ensure_ascii=False)
    if out:
        out.write_text(text + "\n")
        typer.echo(f"anchor of {len(anchor['heads'])} chains written to {out}")
    else:
        typer.echo(text)


def _database() -> sa.Engine:
    return open_database(_settings())


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database forward (to the newest schema by default)."""
    database = _database()
    with step(f"migrating the schema from {schema.current_revision(database) or '(empty)'} to {revision}"):
        schema.upgrade(database, revision)
    typer.echo(f"database at {schema.current_revision(database)}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Migrate the database back to an earlier schema."""
    database = _database()
    with step(f"migrating the schema from {schema.current_revision(database) or '(empty)'} back to {revision}"):
        schema.downgrade(database, revision)
    typer.echo(f"database at {schema.current_revision(database)}")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest one this code knows."""
    current = schema.current_revision(_database())
    head = schema.head_revision()
    typer.echo(
        f"current {current or '(empty)'}, head {head}{'' if current == head else ' (run filingflow db upgrade)'}"
    )


def main() -> None:
    try:
        log_format = Settings.from_env().log_format
    except SettingsError:
        log_format = "text"  # the command itself reports the bad variable
    configure_logging(log_format)
    try:
        readable_help(typer.main.get_command(cli))(prog_name="filingflow")
    except SettingsError as exc:  # the configuration is wrong: nothing ran, like a usage error
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except FilingFlowError as exc:  # the command ran and was refused ("no case 99"): 1, as audit verify's FAILED
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:  # unreachable, refused, wrong password
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        typer.echo(f"error: cannot use the database ({reason}); check FILINGFLOW_DATABASE_URL", err=True)
        sys.exit(2)
