"""Sampling the round while it runs: outbox depth and the deadline sweep's lag, four times a real second.

Outbox depth is the number of pending notices already due (waiting for a dispatcher); sweep lag
is how long ago, on the sandbox clock, the oldest still-pending deadline fell due (0 when none
is). Both come from the database on a connection of their own; while PostgreSQL is down a
sample is simply missing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from workflow.clock import Clock
from workflow.database import create_database_engine
from workflow.tables import deadlines, notices

EVERY = 0.25  # real seconds


@dataclass(frozen=True, slots=True)
class Sample:
    real: float  # time.monotonic()
    at: datetime  # sandbox time
    phase: str
    rate: float
    outbox_due: int
    outbox_pending: int
    lag_s: float  # sandbox seconds
    oldest: str = ""  # the deadline (case id and key) behind the lag, to find out why


class Sampler:
    def __init__(self, url: str) -> None:
        self.database = create_database_engine(url, pool_size=1, max_overflow=0)
        self.samples: list[Sample] = []
        self.clock: Clock | None = None
        self.phase = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="round-sampler")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.database.dispose()

    def _run(self) -> None:
        while not self._stop.wait(EVERY):
            clock = self.clock
            if clock is None:
                continue
            try:
                self.samples.append(self.sample(clock))
            except sa.exc.SQLAlchemyError:
                self.database.dispose()  # PostgreSQL is restarting: a fresh connection next time

    def sample(self, clock: Clock) -> Sample:
        now = clock.now()
        pending = notices.c.status == "pending"
        with self.database.connect() as conn:
            due = conn.execute(sa.select(sa.func.count()).where(pending, notices.c.next_attempt_at <= now)).scalar_one()
            total = conn.execute(sa.select(sa.func.count()).where(pending)).scalar_one()
            first = conn.execute(
                sa.select(deadlines.c.due_at, deadlines.c.case_id, deadlines.c.key)
                .where(deadlines.c.status == "pending", deadlines.c.due_at <= now)
                .order_by(deadlines.c.due_at)
                .limit(1)
            ).first()
        lag = (now - first.due_at).total_seconds() if first is not None else 0.0
        rate = float(getattr(clock, "rate", 1.0))  # the timeline's segment now (bench/round_pacer.py)
        behind = f"case {first.case_id} {first.key}" if first is not None else ""
        return Sample(time.monotonic(), now, self.phase, rate, int(due), int(total), max(lag, 0.0), behind)
