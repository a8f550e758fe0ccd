"""The scheduler's jobs: small functions over the engine, each safe to run at any time, twice.

Deadlines, reminders and windows live in our own tables, not in APScheduler: the jobs
only ask the engine for what is due *now* (by the injected clock), so a worker that was
down catches up on its next tick, and two workers never do the same work twice (the
engine claims each row with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and serialises
writers with ``BEGIN IMMEDIATE`` on SQLite).

A program's window closing (LG-WIN-1) is a deadline opened on every draft, so the same
sweep abandons the drafts that were never submitted, at the window's end.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from notifications.dispatcher import Dispatcher, DispatchReport
from workflow import idempotency
from workflow.engine import Engine
from workflow.idempotency import MIN_RETENTION, purge_older_than
from workflow.listings import Listings
from workflow.tables import UTCDateTime, worker_heartbeats

# The app's HTTP Idempotency-Keys (app/tables.py): named here, not imported (the scheduler sits below the app)
_HTTP_KEYS = sa.table(
    "http_idempotency", sa.column("token_id"), sa.column("key"), sa.column("created_at", UTCDateTime())
)

log = logging.getLogger("filingflow.scheduler")
BATCH = 500


@dataclass
class TickReport:
    expired: list[tuple[int, str]] = field(default_factory=list)
    reminders: int = 0
    purged: int = 0
    flagged: int = 0
    notices: DispatchReport | None = None

    def __str__(self) -> str:
        sent = f", notices: {self.notices}" if self.notices is not None else ""
        listed = f", {self.flagged} cases flagged (list entries in force)" if self.flagged else ""
        return f"{len(self.expired)} deadlines expired, {self.reminders} reminders queued{listed}{sent}"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep_deadlines(engine: Engine, *, batch: int = BATCH) -> list[tuple[int, str]]:
    """Expire everything due, oldest first (the engine works through it in batches)."""
    done = engine.expire_due(limit=batch)
    if done:
        log.info("expired %d deadlines", len(done))
    return done


def send_reminders(engine: Engine, *, batch: int = BATCH) -> int:
    total = engine.send_due_reminders(limit=batch)
    if total:
        log.info("queued %d reminder rungs", total)
    return total


def refresh_calendar(engine: Engine) -> int:
    """Pick up calendar changes (other processes, a newer package) and recompute what they move."""
    moved = engine.refresh_calendar()
    if moved:
        log.info("calendar changed: %d open deadlines recomputed", len(moved))
    return len(moved)


def heartbeat(engine: Engine, name: str, info: dict[str, Any] | None = None) -> None:
    """Record that this worker is alive (``/healthz`` reports the age)."""
    now = engine.clock.now()
    with engine.database.begin() as conn:
        updated = conn.execute(
            worker_heartbeats.update().where(worker_heartbeats.c.name == name).values(beat_at=now, info=info or {})
        )
        if updated.rowcount == 0:
            conn.execute(worker_heartbeats.insert().values(name=name, beat_at=now, info=info or {}))


def purge_keys(engine: Engine, retention: timedelta = MIN_RETENTION) -> int:
    """Forget idempotency keys older than ``retention`` (never under 24 h): the HTTP API's, then the engine's.

    Until then a replay returns the first answer. The HTTP key goes first: while the engine's
    twin of a key survives, a late retry still finds it and does not run its command twice.
    """
    if retention < MIN_RETENTION:
        raise ValueError(f"idempotency keys are kept at least {MIN_RETENTION}, not {retention}")
    cutoff = engine.clock.now() - retention
    http = purge_older_than(engine.database, _HTTP_KEYS, (_HTTP_KEYS.c.token_id, _HTTP_KEYS.c.key), cutoff=cutoff)
    purged = http + idempotency.purge_keys(engine.database, cutoff=cutoff)
    if purged:
        log.info("purged %d idempotency keys older than %s (%d HTTP)", purged, retention, http)
    return purged


def flag_started_listings(engine: Engine) -> int:
    """Flag the open cases of applicants whose official-list entry starts today or started since the last tick."""
    flagged = Listings(engine).flag_started()
    if flagged:
        log.info("flagged %d open cases of applicants whose list entries came into force", len(flagged))
    return len(flagged)


def dispatch_outbox(dispatcher: Dispatcher) -> DispatchReport:
    report = dispatcher.dispatch_all()
    if report.claimed:
        log.info("outbox: %s", report)
    return report


def deadline_pass(engine: Engine, name: str, *, key_retention: timedelta = MIN_RETENTION) -> TickReport:
    """Decide and remind: calendar, due deadlines, reminder rungs, list entries come into force, old idempotency
    keys; then say this worker is alive."""
    refresh_calendar(engine)
    report = TickReport(
        expired=sweep_deadlines(engine),
        reminders=send_reminders(engine),
        flagged=flag_started_listings(engine),
        purged=purge_keys(engine, key_retention),
    )
    heartbeat(engine, name, {"last": str(report)})
    return report


def tick(
    engine: Engine, name: str, dispatcher: Dispatcher | None = None, *, key_retention: timedelta = MIN_RETENTION
) -> TickReport:
    """One pass of every job, in the order a person would do them: decide, remind, deliver."""
    report = deadline_pass(engine, name, key_retention=key_retention)
    if dispatcher is not None:
        report.notices = dispatch_outbox(dispatcher)
    return report
