"""How fast the round's sandbox clock moves: decided a real second at a time, from what the fleet sustains.

A fixed clock rate either wastes hours on quiet weeks or, where the requests bunch up (the surge:
half of all submissions in the window's last 8 hours), runs ahead of what the API processes can
answer, so requests go out late and the round loses its shape (LG-WIN-1 refusing filers whose
submission was due before the close). So the clock runs on a scheduled sandbox timeline
(app/sandbox.py) that the pacer extends one slice at a time, about ``SLICE`` real seconds each:

* a slice's rate is chosen so that the actions queued inside it are about ``pace`` a real second;
  between ``MIN_RATE`` (a busy stretch) and ``TOP_RATE`` (a quiet one);
* ``pace`` follows the fleet: when the driver is behind as a slice ends, it moves towards the
  actions the driver finished a real second meanwhile (what the fleet sustains); it grows only
  after a slice whose full load the driver kept up with; when more than a second of work is
  outstanding the next slice waits, so the clock stands still (every process reads the same held timeline)
  until the fleet has caught up, and no action is ever sent much later than its sandbox time;
  it also stands while a staff batch runs (an import or a batch advance takes an operator
  minutes; at a fast rate its real seconds would be days);
* a quiet stretch with nothing queued, nothing due and no deadline, reminder or notice falling due
  in it is jumped over (the next slice starts later in sandbox time): that is how a round months
  long passes in minutes without a rate so high that the outbox leases (sandbox seconds) would be
  milliseconds of real time.

Every slice is recorded with the pace it was sized for, for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.sandbox import Segment, TimelineClock, append_segment
from bench.round_driver import Driver
from workflow.clock import Clock, SystemClock
from workflow.database import create_database_engine
from workflow.tables import deadlines, notices

SLICE = 1.0  # real seconds a slice lasts
AHEAD = 0.4  # real seconds before a slice ends that the next is decided (processes re-read every 0.2 s)
MIN_RATE = 30.0  # sandbox seconds per real second, at the busiest
TOP_RATE = 40_000.0  # at the quietest (by default): a sandbox day in about 2 real seconds
MIN_PACE, MAX_PACE = 4.0, 300.0  # actions a real second
CAREFUL_RATE = 1_200.0  # near a window's close: a second of request latency is 20 sandbox minutes
SHORT = 0.2  # real seconds of a slice while a jump waits for the workers or the dispatcher
JUMP_OVER = timedelta(minutes=1)  # a quiet stretch longer than this, with nothing due in it, is jumped over


@dataclass
class Pacer:
    url: str
    clock: TimelineClock
    driver: Driver
    pace: float = 30.0
    floor: datetime | None = None  # the next slice starts no earlier (the next round's start)
    slices: list[tuple[Segment, float]] = field(default_factory=list)  # with the pace each was sized for
    jumps: int = 0
    real: Clock = field(default_factory=SystemClock)  # real time (a manual clock in the tests)
    top_rate: float = TOP_RATE
    careful: tuple[tuple[datetime, datetime], ...] = ()  # stretches run at CAREFUL_RATE at most (a window's close)

    def __post_init__(self) -> None:
        self.database = create_database_engine(self.url, pool_size=1, max_overflow=0)
        self._adjusted_for: Segment | None = None
        self._measured = (self.real.now(), self.driver.completed)  # real time, actions done: at the last slice

    def close(self) -> None:
        self.database.dispose()

    def __call__(self, end: datetime) -> None:
        """Extend the timeline by a slice towards ``end`` when the current one is about to run out."""
        last = self.clock.segments[-1]
        assert last.clock_end is not None
        start = max(last.clock_end, self.floor) if self.floor else last.clock_end
        if start >= end:
            return  # the clock will stand at ``end`` (the caller's next stop)
        real_now = self.real.now()
        runs_out = last.real_start + (last.clock_end - last.clock_start) / last.rate
        if (runs_out - real_now).total_seconds() > min(AHEAD, (runs_out - last.real_start).total_seconds() / 2):
            return
        outstanding = self.driver.outstanding
        if self._adjusted_for is not last:  # once per slice: what did the fleet get done in it?
            self._adjusted_for = last
            self._adjust(outstanding)
        if outstanding > self.pace * SLICE or self.driver.holding:
            return  # more than a slice of work not done, or a staff batch under way: the clock stands until then
        try:
            segment = self._slice(start, end, outstanding, max(runs_out, real_now + timedelta(seconds=0.05)))
            append_segment(self.database, segment)
        except sa.exc.SQLAlchemyError:  # the database away (the restart fault): the clock stands meanwhile
            self.database.dispose()
            return
        self.clock.extend([segment])
        self.slices.append((segment, self.pace))

    def _adjust(self, outstanding: int) -> None:
        """Towards what the driver finished a real second while behind; up only after keeping up with a full load."""
        real, done = self.real.now(), self.driver.completed
        seconds, finished = (real - self._measured[0]).total_seconds(), done - self._measured[1]
        self._measured = (real, done)
        if seconds <= 0.05:
            return
        sustained = finished / seconds
        if outstanding > self.pace * 0.5:  # behind: the fleet did ``sustained`` a second at most
            self.pace = max(MIN_PACE, min(self.pace, 0.5 * self.pace + 0.5 * sustained))
        elif sustained >= 0.8 * self.pace:  # kept up with a full load: try a little more
            self.pace = min(self.pace * 1.15, MAX_PACE)

    def _slice(self, start: datetime, end: datetime, outstanding: int, real_start: datetime) -> Segment:
        top = self.top_rate
        widest = timedelta(seconds=top * SLICE)
        want = max(int(self.pace * SLICE), 1)
        queued = self.driver.next_at(start, want)
        blocked = False
        if outstanding == 0 and (not queued or queued[0] - start > JUMP_OVER):
            target = min([end, *queued[:1], *self._next_instant(start)])
            if target - start > JUMP_OVER:  # nothing at all happens before ``target``: go there at once
                start = target
                self.jumps += 1
                queued = self.driver.next_at(start, want)
            else:
                blocked = True  # the workers or the dispatcher have work: a short slice, then look again
        inside = [at for at in queued if at <= start + widest]
        if blocked and not inside:
            span = timedelta(seconds=top * SHORT)
            return Segment(start, real_start, top, min(start + span, end))
        if len(inside) >= want:  # busy: the slice ends at the action that makes it a second's work
            span, seconds = inside[-1] - start, SLICE
        elif inside:  # sparse: just past the last of them, in the real time they take at this pace
            span, seconds = inside[-1] - start + timedelta(seconds=1), max(len(inside) / self.pace, 0.1)
        else:
            span, seconds = widest, SLICE
        rate = min(max(span.total_seconds() / seconds, MIN_RATE), top)
        span = max(span, timedelta(seconds=rate * 0.1))  # a tenth of a real second at least
        for first, last in self.careful:
            if first <= start < last:  # near a close a request's real latency times the rate must stay minutes
                rate = min(rate, CAREFUL_RATE)
                span = min(span, timedelta(seconds=rate * SLICE))
            elif start < first < start + span:  # stop at its start, not race into it
                span = first - start
        return Segment(start, real_start, rate, min(start + span, end))

    def _next_instant(self, after: datetime) -> list[datetime]:
        """When the workers next have something to do; ``[after]`` (no jump) while anything is due, or any
        notice is pending at all: a jump would end a sender's lease at once and another would send it again."""
        pending = deadlines.c.status == "pending"
        with self.database.connect() as conn:
            busy = conn.execute(
                sa.select(sa.func.count()).where(
                    pending, sa.or_(deadlines.c.due_at <= after, deadlines.c.next_reminder_at <= after)
                )
            ).scalar_one()
            busy += conn.execute(sa.select(sa.func.count()).where(notices.c.status == "pending")).scalar_one()
            if busy:
                return [after]
            instants = [
                conn.execute(sa.select(sa.func.min(deadlines.c.due_at)).where(pending)).scalar_one(),
                conn.execute(sa.select(sa.func.min(deadlines.c.next_reminder_at)).where(pending)).scalar_one(),
            ]
        return [instant for instant in instants if instant is not None]
