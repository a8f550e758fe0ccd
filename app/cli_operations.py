"""CLI commands staff and operators use day to day: the worker, deadlines, the calendar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer

from app.bootstrap import bootstrap
from app.cli_progress import note, step
from app.delivery import build_dispatcher
from app.settings import Settings
from app.worker_lock import WorkerLock
from notifications.dispatcher import DispatchReport
from scheduler import jobs
from scheduler.worker import run_worker
from workflow.clock import SHANGHAI
from workflow.database import read_only
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import FilingFlowError, InvalidInput
from workflow.workdays import WorkingDayCalendar, YearArrangement, summarise

deadlines_cli = typer.Typer(no_args_is_help=True, help="Explain and change case deadlines.")
notifications_cli = typer.Typer(no_args_is_help=True, help="The outbox: deliver, list and retry notices.")
cases_cli = typer.Typer(no_args_is_help=True, help="Staff work on cases in bulk.")


@cases_cli.command("advance")
def cases_advance(
    program: str,
    event: str,
    actor: StaffName,
    count: Annotated[int, typer.Option(help="How many cases, oldest submission first.")] = 10,
) -> None:
    """Fire EVENT on the next COUNT cases of PROGRAM in submission order (SZ-FLOW-3)."""
    engine = _engine()
    outcome = engine.advance_batch(program, event, count=count, actor=Actor(actor, "staff", "cli"))
    if not outcome.advanced and outcome.stopped_at is None:
        process = engine.programs.get(program)
        sources = ", ".join(process.event(event).sources)
        typer.echo(f"advanced 0 cases: no case of {program} is in a state {event} leaves ({sources})")
        return
    typer.echo(f"advanced {len(outcome.advanced)} cases: {', '.join(map(str, outcome.advanced))}")
    if outcome.stopped_at is not None:
        typer.echo(f"stopped at case {outcome.stopped_at}: {outcome.reason}", err=True)
        raise typer.Exit(1)


calendar_cli = typer.Typer(no_args_is_help=True, help="The PRC working-day calendar.")

StaffName = Annotated[str, typer.Option("--actor", help="Staff member responsible (recorded in the audit).")]
Reason = Annotated[str, typer.Option(help="Why (required, recorded in the audit and told to the applicant).")]


def _engine() -> Engine:
    return bootstrap(Settings.from_env())


def worker(
    once: Annotated[bool, typer.Option(help="Run every job once and exit (for cron or a check).")] = False,
    interval: Annotated[float | None, typer.Option(help="Seconds between ticks.")] = None,
) -> None:
    """Run the scheduler worker: deadline sweeps, reminders, calendar refresh, heartbeat."""
    settings = Settings.from_env()
    engine = bootstrap(settings)
    lock = WorkerLock(settings.database_url)
    lock.acquire(wait=True)  # SQLite: one worker; a second stands by until the first stops
    dispatcher = build_dispatcher(settings, engine)
    if once:
        report = jobs.tick(engine, jobs.worker_name(), dispatcher, key_retention=settings.key_retention)
        typer.echo(f"worker tick: {report}")
        lock.release()
        return
    try:
        run_worker(
            engine,
            interval=interval or settings.worker_interval,
            dispatcher=dispatcher,
            key_retention=settings.key_retention,
        )
    finally:
        lock.release()


@deadlines_cli.command("explain")
def deadlines_explain(case_id: int) -> None:
    """List a case's deadlines with the days counted and skipped towards each."""
    for item in _engine().explain_deadlines(case_id):
        d = item.deadline
        due = due_text(d.due_at) if d.due_at else "suspended"
        typer.echo(f"[{d.id}] {d.key} ({d.rule}, {d.label}) {d.status}, {due}{' ESTIMATED' if d.estimated else ''}")
        for line in item.lines:
            if not line.startswith("due by the end of "):  # said once, above, in the same words
                typer.echo(f"    {line}")


def due_text(due_at: datetime) -> str:
    """A due time as staff say it, in Asia/Shanghai: "due by the end of 2025-10-10" for a day's end."""
    local = due_at.astimezone(SHANGHAI)
    if local.time() == time(0):
        return f"due by the end of {(local - timedelta(days=1)).date().isoformat()}"
    return f"due {local.strftime('%Y-%m-%d %H:%M')} (Asia/Shanghai)"


@deadlines_cli.command("extend")
def deadlines_extend(
    case_id: int,
    deadline_id: int,
    actor: StaffName,
    reason: Reason,
    working_days: Annotated[int | None, typer.Option(help="Add this many working days.")] = None,
    to: Annotated[str | None, typer.Option(help="Or move the last day to this date (YYYY-MM-DD).")] = None,
) -> None:
    """Extend a deadline (staff), audited and told to the applicant."""
    to_date = _day(to, "--to") if to else None
    with flags_named({"working_days": "--working-days", "to_date": "--to", "reason": "--reason"}):
        view = _engine().extend_deadline(
            case_id,
            deadline_id,
            actor=Actor(actor, "staff", "cli"),
            reason=reason,
            working_days=working_days,
            to_date=to_date,
        )
    typer.echo(f"deadline {view.id} now {due_text(view.due_at) if view.due_at else 'suspended'}")


@deadlines_cli.command("suspend")
def deadlines_suspend(case_id: int, deadline_id: int, actor: StaffName, reason: Reason) -> None:
    """Stop a deadline's clock (staff)."""
    _engine().suspend_deadline(case_id, deadline_id, actor=Actor(actor, "staff", "cli"), reason=reason)
    typer.echo(f"deadline {deadline_id} suspended")


@deadlines_cli.command("resume")
def deadlines_resume(case_id: int, deadline_id: int, actor: StaffName, reason: Reason) -> None:
    """Restart a suspended deadline's clock (staff)."""
    view = _engine().resume_deadline(case_id, deadline_id, actor=Actor(actor, "staff", "cli"), reason=reason)
    typer.echo(f"deadline {view.id} resumed, {due_text(view.due_at) if view.due_at else 'suspended'}")


@calendar_cli.command("is-working-day")
def calendar_is_working_day(day: str) -> None:
    """Is DAY (YYYY-MM-DD) an official working day, and why."""
    note = _calendar().note(_day(day, "DATE"))
    typer.echo(f"{note.day.isoformat()} {'is' if note.working else 'is not'} a working day: {note.why}")


@calendar_cli.command("add-working-days")
def calendar_add_working_days(day: str, count: int) -> None:
    """The COUNT-th working day after DAY, with the days counted and skipped."""
    notes = _calendar().walk(_day(day, "DATE"), count)
    for line in summarise(notes):
        typer.echo(f"  {line}")
    typer.echo(notes[-1].day.isoformat() if notes else day)


@calendar_cli.command("load")
def calendar_load(path: Path, actor: StaffName) -> None:
    """Load a year's official arrangement (JSON) and recompute the deadlines it moves."""
    arrangement = YearArrangement.from_json(json.loads(path.read_text(encoding="utf-8")))
    engine = _engine()
    with step(f"loading {arrangement.year} and recomputing the {_open_deadlines(engine)} open deadlines it may move"):
        changed = engine.load_calendar_year(arrangement, actor=Actor(actor, "staff", "cli"))
    typer.echo(
        f"loaded {arrangement.year}: {len(arrangement.holidays)} holidays, {len(arrangement.workdays)} "
        f"make-up working days; {len(changed)} deadlines recomputed"
    )


@calendar_cli.command("override")
def calendar_override(
    day: str,
    actor: StaffName,
    reason: Reason,
    closed: Annotated[bool, typer.Option("--closed/--working", help="A closure, or a working day.")] = True,
) -> None:
    """Declare one day closed (e.g. a typhoon) or working, and recompute the deadlines it moves."""
    changed = _engine().override_calendar_day(
        _day(day, "DATE"), working=not closed, actor=Actor(actor, "staff", "cli"), reason=reason
    )
    typer.echo(f"{day} is now {'closed' if closed else 'a working day'}; {len(changed)} deadlines recomputed")


def _calendar() -> WorkingDayCalendar:
    return _engine().calendar


@notifications_cli.command("dispatch")
def notifications_dispatch(
    once: Annotated[
        bool, typer.Option("--once", help="One batch (FILINGFLOW_OUTBOX_BATCH notices at most), then exit.")
    ] = False,
) -> None:
    """Deliver the notices that are due, batch after batch until none is (the worker does this on every tick)."""
    settings = Settings.from_env()
    engine = bootstrap(settings)
    dispatcher = build_dispatcher(settings, engine)
    report = DispatchReport()
    try:
        for batch in range(1, 1001):  # the dispatcher's own dispatch_all bound
            done = dispatcher.dispatch_due()
            report.add(done)
            if done.claimed:
                note(f"batch {batch}: {done}")
            if once or not done.claimed:
                break
    finally:
        engine.database.dispose()
    typer.echo(f"dispatch: {report}")
    for error in report.errors:
        typer.echo(f"  {error}", err=True)


@notifications_cli.command("list")
def notifications_list(
    status: Annotated[str, typer.Option(help="pending, sent or dead.")] = "dead",
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List notices by status, with their last error."""
    import sqlalchemy as sa

    from workflow.tables import notices

    if status not in {"pending", "sent", "dead"}:
        raise typer.BadParameter("status must be pending, sent or dead", param_hint="--status")
    engine = _engine()
    with read_only(engine.database) as conn:
        rows = conn.execute(
            sa.select(notices).where(notices.c.status == status).order_by(notices.c.id.desc()).limit(limit)
        ).all()
    engine.database.dispose()
    if not rows:
        typer.echo(f"no {status} notices")
        return
    for row in (r._mapping for r in rows):
        error = f"  last error: {row['last_error']}" if row["last_error"] else ""
        typer.echo(
            f"[{row['id']}] case {row['case_id']} {row['kind']}/{row['channel']} to {row['recipient']} "
            f"{row['status']} after {row['attempts']} attempt(s){error}"
        )


@notifications_cli.command("retry")
def notifications_retry(notice_id: int) -> None:
    """Queue a dead notice again (after fixing what killed it)."""
    from notifications.dispatcher import retry_notice

    engine = _engine()
    try:
        queued = retry_notice(engine, notice_id)
    finally:
        engine.database.dispose()
    if not queued:
        typer.echo(f"notice {notice_id} is not dead (or does not exist)", err=True)
        raise typer.Exit(1)
    typer.echo(f"notice {notice_id} queued again")


def _open_deadlines(engine: Engine) -> int:
    import sqlalchemy as sa

    from workflow.tables import deadlines
    from workflow.writes import OPEN_STATUSES

    query = sa.select(sa.func.count()).select_from(deadlines).where(deadlines.c.status.in_(OPEN_STATUSES))
    with read_only(engine.database) as conn:
        return int(conn.execute(query).scalar_one())


@contextmanager
def flags_named(flags: dict[str, str]) -> Iterator[None]:
    """Errors name the command's flags (``--working-days``), not the engine's parameters (``working_days``)."""
    try:
        yield
    except FilingFlowError as exc:
        if exc.field in flags:
            exc.field = flags[exc.field]
            for name, flag in flags.items():
                exc.message = exc.message.replace(name, flag)
            exc.args = (exc.message,)
        raise


def _day(value: str, field: str) -> date:
    """A calendar date from the command line, or a clear error naming the argument."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None
