"""One sandbox timeline for every process that shares a database.

A sandbox clock starts at ``FILINGFLOW_CLOCK_START`` and runs forward in real time. If each
process started it anew, an API process and a worker or ``notifications dispatch`` started a
minute later would live a minute apart (notices the API queued would be "not yet due" for the
dispatcher). So the first process to start records the timeline's epoch in the database: the
sandbox instant and the real instant it corresponded to. Every later process reads it and runs
the same clock, ``real now + (clock start - real start)``. Starting a process with another
``FILINGFLOW_CLOCK_START`` begins a new timeline from then on (with a warning).

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
)


class TimelineClock:
    """The shared sandbox clock: ``base`` now, moved by the recorded offset."""

    def __init__(self, clock_start: datetime, real_start: datetime, base: Clock | None = None) -> None:
        ensure_aware(clock_start, field="clock_start")
        self.clock_start = clock_start  # as configured, offset kept (Asia/Shanghai reads better in logs)
        self.real_start = ensure_aware(real_start, field="real_start")
        self._base = base or SystemClock()
        self._offset: timedelta = self.clock_start - self.real_start

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def __repr__(self) -> str:
        return f"TimelineClock(start={self.clock_start.isoformat()}, began={self.real_start.isoformat()})"


def shared_timeline(database: sa.Engine, clock_start: datetime, base: Clock | None = None) -> TimelineClock:
    """The database's sandbox timeline, begun now at ``clock_start`` if it has none yet.

    A process configured with another ``FILINGFLOW_CLOCK_START`` than the one recorded starts a
    new timeline (recorded for the processes after it) and warns that the processes still
    running on the old one should be restarted: moving a sandbox's clock is a deliberate act.
    """
    base = base or SystemClock()
    ensure_aware(clock_start, field="FILINGFLOW_CLOCK_START")
    wanted = clock_start
    with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.IntegrityError):  # created at the same moment elsewhere
        metadata.create_all(database, checkfirst=True)
    try:
        with database.begin() as conn:
            if conn.execute(sa.select(sandbox_timeline.c.id)).first() is None:
                values = {"id": 1, "clock_start": wanted.isoformat(), "real_start": base.now().isoformat()}
                conn.execute(sandbox_timeline.insert().values(**values))
    except sa.exc.IntegrityError:
        pass  # another process began the timeline at the same moment: theirs is read below
    with database.connect() as conn:
        row = conn.execute(sa.select(sandbox_timeline).where(sandbox_timeline.c.id == 1)).one()
    recorded = datetime.fromisoformat(row.clock_start)
    if recorded != wanted:  # a new timeline, deliberately: it begins now, for this process and the next ones
        real_start = base.now()
        with database.begin() as conn:
            conn.execute(
                sandbox_timeline.update()
                .where(sandbox_timeline.c.id == 1)
                .values(clock_start=wanted.isoformat(), real_start=real_start.isoformat())
            )
        log.warning(
            "SANDBOX: FILINGFLOW_CLOCK_START=%s starts a new timeline on this database (it was %s, begun at real "
            "time %s); restart the other processes of this sandbox so that they join it",
            wanted.isoformat(),
            row.clock_start,
            row.real_start,
        )
        return TimelineClock(wanted, real_start, base)
    return TimelineClock(recorded, datetime.fromisoformat(row.real_start), base)
