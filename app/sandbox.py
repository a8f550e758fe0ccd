"""One sandbox timeline for every process that shares a database.

A sandbox clock starts at ``FILINGFLOW_CLOCK_START`` and runs forward in real time. If each
process started it anew, an API process and a worker or ``notifications dispatch`` started a
minute later would live a minute apart (notices the API queued would be "not yet due" for the
dispatcher). So the first process to start records the timeline's epoch in the database: the
sandbox instant and the real instant it corresponded to. Every later process reads it and runs
the same clock, ``clock start + (real now - real start) x rate``. Starting a process with another
``FILINGFLOW_CLOCK_START`` (or another rate) begins a new timeline from then on (with a warning).

The rate (``FILINGFLOW_CLOCK_RATE``, 1 by default) lets a simulation such as ``python -m bench
round`` live through a month-long filing window in minutes: at rate 3600 a real second is a
sandbox hour, for every process on the timeline alike. Durations a process counts in real time
(the worker's interval, HTTP timeouts) do not scale; those counted on the engine's clock
(deadlines, outbox backoff and leases) do, so a simulation sizes the latter for its rate. A
simulation may record a timeline that begins a few real seconds later, once its processes have
started: until then the clock stands at its start.

The record lives in a table of its own, ``sandbox_timeline``, created on a sandbox's first
start and never part of the production schema (a production database never runs a sandbox:
``FILINGFLOW_CLOCK_START`` is refused without ``FILINGFLOW_SANDBOX=1``).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from workflow.clock import Clock, SystemClock, ensure_aware

log = logging.getLogger("filingflow")
metadata = sa.MetaData()
sandbox_timeline = sa.Table(
    "sandbox_timeline",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("clock_start", sa.String(40), nullable=False),  # ISO 8601 with its offset, as configured
    sa.Column("real_start", sa.String(40), nullable=False),  # ISO 8601 UTC: the real instant it began
    sa.Column("rate", sa.String(20), nullable=True),  # sandbox seconds per real second; NULL (older sandboxes): 1
)


class TimelineClock:
    """The shared sandbox clock: ``clock_start`` plus the real time since ``real_start``, times ``rate``."""

    def __init__(
        self, clock_start: datetime, real_start: datetime, base: Clock | None = None, rate: float = 1.0
    ) -> None:
        ensure_aware(clock_start, field="clock_start")
        if not rate > 0:
            raise ValueError(f"clock rate must be positive, got {rate!r}")
        self.clock_start = clock_start  # as configured, offset kept (Asia/Shanghai reads better in logs)
        self.real_start = ensure_aware(real_start, field="real_start")
        self.rate = rate
        self._base = base or SystemClock()

    def now(self) -> datetime:
        base = self._base.now()
        # a timeline recorded to begin a moment later stands at its start until then
        elapsed = max(base - self.real_start, timedelta(0))
        moved = elapsed if self.rate == 1 else elapsed * self.rate
        return self.clock_start.astimezone(base.tzinfo) + moved  # in the base clock's zone (UTC), as before

    def __repr__(self) -> str:
        return (
            f"TimelineClock(start={self.clock_start.isoformat()}, began={self.real_start.isoformat()}, "
            f"rate={self.rate:g})"
        )


def _add_rate_column(database: sa.Engine) -> None:
    """A sandbox begun before the rate existed has no ``rate`` column: add it (NULL reads as 1)."""
    if "rate" in {c["name"] for c in sa.inspect(database).get_columns("sandbox_timeline")}:
        return
    with contextlib.suppress(sa.exc.OperationalError, sa.exc.ProgrammingError), database.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sandbox_timeline ADD COLUMN rate VARCHAR(20)")  # raced: added elsewhere


def _begin_timeline(database: sa.Engine, clock_start: datetime, real_start: datetime, rate: float) -> None:
    """Record the timeline unless one is recorded (another process may begin it at the same moment)."""
    values = {"id": 1, "clock_start": clock_start.isoformat(), "real_start": real_start.isoformat()}
    try:
        with database.begin() as conn:
            if conn.execute(sa.select(sandbox_timeline.c.id)).first() is None:
                conn.execute(sandbox_timeline.insert().values(**values, rate=repr(float(rate))))
    except sa.exc.IntegrityError:
        pass  # another process began the timeline at the same moment: theirs is read by the caller


def shared_timeline(
    database: sa.Engine, clock_start: datetime, base: Clock | None = None, rate: float = 1.0
) -> TimelineClock:
    """The database's sandbox timeline, begun now at ``clock_start`` if it has none yet.

    A process configured with another ``FILINGFLOW_CLOCK_START`` or ``FILINGFLOW_CLOCK_RATE``
    than the ones recorded starts a new timeline (recorded for the processes after it) and warns
    that the processes still running on the old one should be restarted: moving a sandbox's
    clock is a deliberate act.
    """
    base = base or SystemClock()
    ensure_aware(clock_start, field="FILINGFLOW_CLOCK_START")
    wanted = clock_start
    with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.IntegrityError):  # created at the same moment elsewhere
        metadata.create_all(database, checkfirst=True)
    _add_rate_column(database)
    _begin_timeline(database, wanted, base.now(), rate)
    with database.connect() as conn:
        row = conn.execute(sa.select(sandbox_timeline).where(sandbox_timeline.c.id == 1)).one()
    recorded = datetime.fromisoformat(row.clock_start)
    recorded_rate = float(row.rate) if row.rate else 1.0
    if recorded != wanted or recorded_rate != rate:  # a new timeline, deliberately: for this process and the next
        real_start = base.now()
        with database.begin() as conn:
            conn.execute(
                sandbox_timeline.update()
                .where(sandbox_timeline.c.id == 1)
                .values(clock_start=wanted.isoformat(), real_start=real_start.isoformat(), rate=repr(float(rate)))
            )
        log.warning(
            "SANDBOX: FILINGFLOW_CLOCK_START=%s at rate %g starts a new timeline on this database (it was %s at "
            "rate %g, begun at real time %s); restart the other processes of this sandbox so that they join it",
            wanted.isoformat(),
            rate,
            row.clock_start,
            recorded_rate,
            row.real_start,
        )
        return TimelineClock(wanted, real_start, base, rate)
    return TimelineClock(recorded, datetime.fromisoformat(row.real_start), base, recorded_rate)
