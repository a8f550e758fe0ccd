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

A simulation can also schedule the timeline as it goes (``python -m bench round``): a timeline
whose last segment has an end (``clock_end``: the clock stands there once it gets there) can be
followed by another segment, appended while the processes run, which starts no earlier in sandbox
time than the last one ends; so the clock only ever moves forward, pauses where the simulation has
not yet decided how fast to go on, and jumps forward (to another round months later) without a
process restarting. Every process on such a timeline re-reads its segments a few times a real
second (a thread of its own); one that reads a segment late sees the clock stand still a moment
longer, never go back.

The record lives in a table of its own, ``sandbox_timeline``, created on a sandbox's first
start and never part of the production schema (a production database never runs a sandbox:
``FILINGFLOW_CLOCK_START`` is refused without ``FILINGFLOW_SANDBOX=1``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from workflow.clock import Clock, SystemClock, ensure_aware

log = logging.getLogger("filingflow")
metadata = sa.MetaData()
sandbox_timeline = sa.Table(
    "sandbox_timeline",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # 1: the epoch; 2, 3...: later segments
    sa.Column("clock_start", sa.String(40), nullable=False),  # ISO 8601 with its offset, as configured
    sa.Column("real_start", sa.String(40), nullable=False),  # ISO 8601 UTC: the real instant it began
    sa.Column("rate", sa.String(20), nullable=True),  # sandbox seconds per real second; NULL (older sandboxes): 1
    sa.Column("clock_end", sa.String(40), nullable=True),  # the clock stands here once reached; NULL: runs on
)
FOLLOW_EVERY = 0.2  # real seconds between two reads of a scheduled timeline's segments


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the timeline: from ``real_start`` on, ``clock_start`` moving ``rate`` times as fast.

    Up to ``clock_end`` if it has one: there the clock stands until the next segment begins."""

    clock_start: datetime
    real_start: datetime
    rate: float = 1.0
    clock_end: datetime | None = None

    def __post_init__(self) -> None:
        ensure_aware(self.clock_start, field="clock_start")
        ensure_aware(self.real_start, field="real_start")
        if not self.rate > 0:
            raise ValueError(f"clock rate must be positive, got {self.rate!r}")
        if self.clock_end is not None and ensure_aware(self.clock_end, field="clock_end") < self.clock_start:
            raise ValueError(
                f"clock_end {self.clock_end.isoformat()} is before clock_start {self.clock_start.isoformat()}"
            )

    def at(self, real: datetime) -> datetime:
        elapsed = max(real - self.real_start, timedelta(0))  # recorded to begin a moment later: stands until then
        moved = self.clock_start.astimezone(real.tzinfo) + (elapsed if self.rate == 1 else elapsed * self.rate)
        return moved if self.clock_end is None else min(moved, self.clock_end.astimezone(real.tzinfo))

    def follows(self, last: Segment) -> None:
        """Refuse a segment that could move the clock back: it must start where ``last`` ends, or later."""
        if last.clock_end is None:
            raise ValueError("the timeline's last segment runs on without an end (clock_end): nothing can follow it")
        if self.clock_start < last.clock_end:
            raise ValueError(
                f"clock_start {self.clock_start.isoformat()} is before the last segment's end "
                f"{last.clock_end.isoformat()}: the sandbox clock never runs backwards"
            )
        if self.real_start < last.real_start:
            raise ValueError(f"real_start {self.real_start.isoformat()} is before the last segment's")


class TimelineClock:
    """The shared sandbox clock: ``clock_start`` plus the real time since ``real_start``, times ``rate``;
    on a scheduled timeline, the segment whose real start has come."""

    def __init__(
        self,
        clock_start: datetime,
        real_start: datetime,
        base: Clock | None = None,
        rate: float = 1.0,
        clock_end: datetime | None = None,
    ) -> None:
        self._segments: tuple[Segment, ...] = (Segment(clock_start, real_start, rate, clock_end),)
        self._base = base or SystemClock()
        self._stop = threading.Event()

    @property
    def clock_start(self) -> datetime:
        return self._segments[0].clock_start  # as configured, offset kept (Asia/Shanghai reads better in logs)

    @property
    def real_start(self) -> datetime:
        return self._segments[0].real_start

    @property
    def rate(self) -> float:
        return self.segment().rate

    @property
    def segments(self) -> tuple[Segment, ...]:
        return self._segments

    def segment(self) -> Segment:
        """The segment the clock runs on now (the first until its real start has come)."""
        real = self._base.now()
        segments = self._segments
        for segment in reversed(segments):
            if segment.real_start <= real:
                return segment
        return segments[0]

    def now(self) -> datetime:
        real = self._base.now()
        segments = self._segments
        current = segments[0]
        for segment in reversed(segments):
            if segment.real_start <= real:
                current = segment
                break
        return current.at(real)  # in the base clock's zone (UTC), as before

    def extend(self, more: Sequence[Segment]) -> None:
        """Append segments (each checked with :meth:`Segment.follows`); the clock moves on to them when due."""
        segments = list(self._segments)
        for segment in more:
            segment.follows(segments[-1])
            segments.append(segment)
        self._segments = tuple(segments)

    def follow(self, database: sa.Engine, every: float = FOLLOW_EVERY) -> None:
        """Re-read the timeline's segments every ``every`` real seconds, on a daemon thread, until :meth:`close`."""
        thread = threading.Thread(target=self._follow, args=(database, every), daemon=True, name="sandbox-timeline")
        thread.start()

    def close(self) -> None:
        self._stop.set()

    def _follow(self, database: sa.Engine, every: float) -> None:
        while not self._stop.wait(every):
            try:
                stored = read_segments(database)
            except sa.exc.SQLAlchemyError:  # the database away (a restart): read again next time
                continue
            known = self._segments
            if len(stored) > len(known) and tuple(stored[: len(known)]) == known:
                with contextlib.suppress(ValueError):  # never: append_segment checked them
                    self.extend(stored[len(known) :])
            # another epoch (a process began a new timeline): this process goes on with its own, as the warning says

    def __repr__(self) -> str:
        return (
            f"TimelineClock(start={self.clock_start.isoformat()}, began={self.real_start.isoformat()}, "
            f"rate={self.rate:g}, segments={len(self._segments)})"
        )


def _add_columns(database: sa.Engine) -> None:
    """A sandbox begun before the rate (or the segments) existed lacks their columns: add them (NULL: 1, no end)."""
    present = {c["name"] for c in sa.inspect(database).get_columns("sandbox_timeline")}
    for name, kind in (("rate", "VARCHAR(20)"), ("clock_end", "VARCHAR(40)")):
        if name in present:
            continue
        with contextlib.suppress(sa.exc.OperationalError, sa.exc.ProgrammingError), database.begin() as conn:
            conn.exec_driver_sql(f"ALTER TABLE sandbox_timeline ADD COLUMN {name} {kind}")  # raced: added elsewhere


def _segment(row: sa.Row[tuple[object, ...]]) -> Segment:
    return Segment(
        datetime.fromisoformat(str(row.clock_start)),
        datetime.fromisoformat(str(row.real_start)),
        float(str(row.rate)) if row.rate else 1.0,
        datetime.fromisoformat(str(row.clock_end)) if row.clock_end else None,
    )


def read_segments(database: sa.Engine) -> list[Segment]:
    """The recorded timeline, epoch first (empty if none is recorded)."""
    with database.connect() as conn:
        rows = conn.execute(sa.select(sandbox_timeline).order_by(sandbox_timeline.c.id)).all()
    return [_segment(row) for row in rows]


def _values(segment: Segment) -> dict[str, str | None]:
    return {
        "clock_start": segment.clock_start.isoformat(),
        "real_start": segment.real_start.isoformat(),
        "rate": repr(float(segment.rate)),
        "clock_end": segment.clock_end.isoformat() if segment.clock_end is not None else None,
    }


def schedule_timeline(database: sa.Engine, first: Segment, base: Clock | None = None) -> TimelineClock:
    """Begin a scheduled timeline anew with ``first`` (which has an end), replacing any recorded one.

    For a simulation that starts its processes on it (with ``FILINGFLOW_CLOCK_START`` and rate those of
    ``first``) and then appends segments with :func:`append_segment` as it goes; returns its own clock,
    which it extends itself (it does not follow the table)."""
    if first.clock_end is None:
        raise ValueError("clock_end: a scheduled timeline's segment has an end, where the next may follow")
    with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.IntegrityError):
        metadata.create_all(database, checkfirst=True)
    _add_columns(database)
    with database.begin() as conn:
        conn.execute(sandbox_timeline.delete())
        conn.execute(sandbox_timeline.insert().values(id=1, **_values(first)))
    return TimelineClock(first.clock_start, first.real_start, base, first.rate, first.clock_end)


def append_segment(database: sa.Engine, segment: Segment) -> None:
    """Record ``segment`` after the timeline's last one; refused (ValueError) if it could move the clock back."""
    with database.begin() as conn:
        rows = conn.execute(sa.select(sandbox_timeline).order_by(sandbox_timeline.c.id)).all()
        if not rows:
            raise ValueError("no sandbox timeline is recorded: begin one with schedule_timeline")
        segment.follows(_segment(rows[-1]))
        conn.execute(sandbox_timeline.insert().values(id=int(rows[-1].id) + 1, **_values(segment)))


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
    clock is a deliberate act. On a scheduled timeline (its last segment has an end) the clock
    follows the segments appended later.
    """
    base = base or SystemClock()
    ensure_aware(clock_start, field="FILINGFLOW_CLOCK_START")
    wanted = clock_start
    with contextlib.suppress(sa.exc.ProgrammingError, sa.exc.IntegrityError):  # created at the same moment elsewhere
        metadata.create_all(database, checkfirst=True)
    _add_columns(database)
    _begin_timeline(database, wanted, base.now(), rate)
    segments = read_segments(database)
    epoch = segments[0]
    if epoch.clock_start != wanted or epoch.rate != rate:  # a new timeline, deliberately: for this process and the next
        real_start = base.now()
        with database.begin() as conn:
            conn.execute(sandbox_timeline.delete().where(sandbox_timeline.c.id > 1))
            conn.execute(
                sandbox_timeline.update()
                .where(sandbox_timeline.c.id == 1)
                .values(_values(Segment(wanted, real_start, rate)))
            )
        log.warning(
            "SANDBOX: FILINGFLOW_CLOCK_START=%s at rate %g starts a new timeline on this database (it was %s at "
            "rate %g, begun at real time %s); restart the other processes of this sandbox so that they join it",
            wanted.isoformat(),
            rate,
            epoch.clock_start.isoformat(),
            epoch.rate,
            epoch.real_start.isoformat(),
        )
        return TimelineClock(wanted, real_start, base, rate)
    clock = TimelineClock(epoch.clock_start, epoch.real_start, base, epoch.rate, epoch.clock_end)
    if len(segments) > 1:
        clock.extend(segments[1:])
    if segments[-1].clock_end is not None:  # scheduled: more may follow
        clock.follow(database)
    return clock
