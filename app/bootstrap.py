"""The composition root: builds the engine from settings, with its clock, calendar, store and programs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.keys import audit_key
from app.sandbox import shared_timeline
from app.settings import DEFAULT_DATABASE_URL, Settings, SettingsError
from notifications.coverage import missing_templates
from states.registry import catalog
from workflow.clock import Clock, SystemClock
from workflow.database import create_database_engine
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.process import ProgramCatalog
from workflow.schema import ensure_current
from workflow.workdays import WorkingDayCalendar

log = logging.getLogger("filingflow")


def open_database(settings: Settings) -> sa.Engine:
    """The configured database; only the default's directory (``./var``) is created, never one a URL names.

    On PostgreSQL psycopg gets ``prepare_threshold`` from ``FILINGFLOW_DB_PREPARE_THRESHOLD``
    (``None``: never prepare on the server, which PgBouncer before 1.21 in transaction mode needs).
    """
    if not settings.database_url_from_env:
        Path(DEFAULT_DATABASE_URL.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        options["connect_args"] = {"prepare_threshold": settings.db_prepare_threshold}
    try:
        return create_database_engine(settings.database_url, **options)
    except InvalidInput as exc:  # the URL names something that is not there: a configuration error (exit 2)
        raise SettingsError(f"FILINGFLOW_DATABASE_URL: {exc.message}") from exc


def check_templates(programs: ProgramCatalog) -> None:
    """Refuse to start when a notice some registered definition declares has no template for a channel.

    Otherwise it would surface days later as a dead notice; a ``FILINGFLOW_PROGRAMS`` package that
    forgot one is a configuration error (exit 2), each missing template on its own line.
    """
    missing = missing_templates(process.definition for process in programs)
    if missing:
        raise SettingsError(
            f"{len(missing)} notice template(s) missing, not starting:\n  " + "\n  ".join(missing), missing
        )


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    programs: ProgramCatalog | None = None,
) -> Engine:
    """Wire a ready :class:`Engine` with the audit key :func:`app.keys.resolve` finds (or generates on SQLite).

    Every notice of every registered definition must have its templates (:func:`check_templates`).
    The embedded SQLite database is migrated to the current schema by itself
    (``migrate=None``); any other database must already be at head
    (``filingflow db upgrade``), or start-up stops with a clear error.
    """
    key = audit_key(settings)  # before touching the database: a missing secret is a configuration error
    programs = programs or catalog(settings.programs)
    check_templates(programs)
    database = open_database(settings)
    if migrate is None:
        migrate = database.dialect.name == "sqlite"
    ensure_current(database, migrate=migrate)
    if clock is None and settings.clock_start is not None:  # one timeline for every process (app/sandbox.py)
        clock = shared_timeline(database, settings.clock_start, rate=settings.clock_rate or 1.0)
        log.warning(
            "SANDBOX: the clock started at %s (real time %s) and runs forward at %g x real time; now %s",
            clock.clock_start.isoformat(),
            clock.real_start.isoformat(),
            clock.rate,
            clock.now().isoformat(),
        )
    engine = Engine(
        database=database,
        programs=programs,
        clock=clock or SystemClock(),
        calendar=WorkingDayCalendar(package_until=settings.calendar_package_until),
        audit_key=key,
    )
    engine.reload_calendar()  # staff overrides and loaded years live in the database
    return engine
