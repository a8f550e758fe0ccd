"""The two reliability promises, kept inside the round (docs RELIABILITY.md, "Tests worth having" 5 and 6).

* **A deadline storm under API load** (6): the Longgang window's "3 days before the close" reminder
  falls due for every case still in draft at one sandbox second (2025-09-10 09:00, about half the
  applicants: those who will file in the surge). The clock is held a second before it while a
  steady probe load (``PROBE_CLIENTS`` closed-loop clients reading cases and their trails) runs
  for ``PROBE_SECONDS`` (the baseline); then the clock passes the instant and is held again
  while the same load goes on until the workers have sent every reminder due (the storm). API p99
  in the storm must be at most twice the baseline's, at full size.
* **The scheduler down while deadlines fall due** (5): both workers are SIGKILLed at 2025-09-12
  08:00 and started again, both at once, at 2025-09-13 15:00, after the "1 day before" reminder
  of every draft fell due at 09-12 09:00 with no worker up (it stays valid until the close).
  Every row due then must fire exactly once (one reminder per channel, the deadline moved past
  the rung), and the time until none is due is reported.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.round_driver import Driver
from bench.round_fleet import Fleet
from bench.round_report import percentile
from bench.round_workload import sh
from workflow.database import create_database_engine
from workflow.tables import deadlines, notices

STORM_AT = sh("2025-09-10 09:00")  # LG-WIN-1's 3_days_before rung (09:00, 3 days before the last day), every draft
DOWN_AT = sh("2025-09-12 08:00")
UP_AT = sh("2025-09-13 15:00")  # after the 1_day_before rung (09-12 09:00, valid until the close), before the surge
RUNG_DOWN = "1_day_before"
PROBE_CLIENTS = 4
PROBE_SECONDS = 10.0  # real seconds of baseline (and at least as much of storm), by default
DRAIN_LIMIT = 600.0  # real seconds the workers may take to clear the due rows


class Probe:
    """A steady API load: ``clients`` threads reading random cases and their trails, back to back."""

    def __init__(self, driver: Driver, case_ids: list[int], clients: int = PROBE_CLIENTS) -> None:
        self.driver = driver
        self.case_ids = case_ids
        self.clients = clients
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self.latencies = []
        for n in range(self.clients):
            thread = threading.Thread(target=self._loop, args=(n,), daemon=True, name=f"probe-{n}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> list[float]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        return list(self.latencies)

    def _loop(self, n: int) -> None:
        rng = random.Random(n)
        while not self._stop.is_set():
            case_id = rng.choice(self.case_ids)
            path = f"/v1/cases/{case_id}" if rng.random() < 0.7 else f"/v1/cases/{case_id}/audit"
            began = time.monotonic()
            response = self.driver.request("GET", path, "staff", "probe")
            if response is not None and response.status_code == 200:
                self.latencies.append((time.monotonic() - began) * 1000)


def due_rows(database: sa.Engine, now: datetime) -> list[int]:
    """Ids of the pending deadlines due (expiry or reminder rung) at ``now``."""
    with database.connect() as conn:
        return [
            int(row_id)
            for row_id in conn.execute(
                sa.select(deadlines.c.id).where(
                    deadlines.c.status == "pending",
                    sa.or_(deadlines.c.due_at <= now, deadlines.c.next_reminder_at <= now),
                )
            ).scalars()
        ]


def _wait_drained(database: sa.Engine, now: datetime, limit: float = DRAIN_LIMIT) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < limit:
        try:
            if not due_rows(database, now):
                return round(time.monotonic() - began, 1)
        except sa.exc.SQLAlchemyError:
            database.dispose()
        time.sleep(0.1)
    return None


@dataclass
class Promises:
    fleet: Fleet
    driver: Driver
    strict: bool  # full size: the storm's p99 bound is an invariant (reported only at small sizes)
    probe_seconds: float = PROBE_SECONDS
    figures: dict[str, Any] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)
    killed: int = 0  # workers SIGKILLed for the scheduler-down promise (they send notices too)
    _down_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.database = create_database_engine(self.fleet.database.url, pool_size=1, max_overflow=0)

    def close(self) -> None:
        self.database.dispose()

    def storm(self, case_ids: list[int], run_until: Any) -> None:
        """Held a second before the storm: baseline, then the storm, under the same probe load."""
        with self.database.connect() as conn:
            rows = conn.execute(
                sa.select(sa.func.count()).where(
                    deadlines.c.status == "pending",
                    deadlines.c.next_reminder_at > STORM_AT - timedelta(seconds=1),
                    deadlines.c.next_reminder_at <= STORM_AT,
                )
            ).scalar_one()
        probe = Probe(self.driver, case_ids)
        probe.start()
        time.sleep(self.probe_seconds)
        baseline = probe.stop()
        probe.start()
        began = time.monotonic()
        run_until(STORM_AT + timedelta(seconds=1))
        drained = _wait_drained(self.database, STORM_AT + timedelta(seconds=1))
        time.sleep(max(self.probe_seconds - (time.monotonic() - began), 0))
        storm = probe.stop()
        base_p99, storm_p99 = percentile(baseline, 0.99), percentile(storm, 0.99)
        self.figures["storm"] = {
            "due_in_one_second": int(rows),
            "drained_s": drained,
            "probe_clients": PROBE_CLIENTS,
            "baseline_requests": len(baseline),
            "baseline_p50_ms": round(statistics.median(baseline), 1) if baseline else None,
            "baseline_p99_ms": round(base_p99, 1),
            "storm_requests": len(storm),
            "storm_p50_ms": round(statistics.median(storm), 1) if storm else None,
            "storm_p99_ms": round(storm_p99, 1),
            "ratio": round(storm_p99 / base_p99, 2) if base_p99 else None,
            "checked": self.strict,
        }
        if drained is None:
            self.breaches.append(f"deadline storm: {rows} reminders not sent within {DRAIN_LIMIT:.0f} s")
        if self.strict and base_p99 and storm_p99 > 2 * base_p99:
            self.breaches.append(
                f"deadline storm: API p99 {storm_p99:.0f} ms, over twice the {base_p99:.0f} ms baseline"
            )

    def scheduler_down(self) -> None:
        for name in ("worker1", "worker2"):
            self.fleet.processes[name].kill()
        self.killed += 2

    def scheduler_up(self) -> None:
        """Both workers back at once; every row due meanwhile must fire exactly once."""
        self._down_ids = due_rows(self.database, UP_AT)
        for name in ("worker1", "worker2"):
            self.fleet.restart(name)
        drained = _wait_drained(self.database, UP_AT)
        self.figures["scheduler_down"] = {
            "down": f"{DOWN_AT:%Y-%m-%d %H:%M}..{UP_AT:%Y-%m-%d %H:%M}",
            "due_rows_at_restart": len(self._down_ids),
            "drained_s": drained,
        }
        if drained is None:
            self.breaches.append(f"scheduler down: {len(self._down_ids)} due rows not cleared in {DRAIN_LIMIT:.0f} s")

    def check_once(self) -> None:
        """After the round: each row due at the restart sent its rung once per channel and moved past it."""
        if not self._down_ids:
            return
        with self.database.connect() as conn:
            keys = conn.execute(
                sa.select(notices.c.idempotency_key, notices.c.channel).where(
                    notices.c.idempotency_key.like(f"deadline/%/{RUNG_DOWN}/%")
                )
            ).all()
            status: dict[int, str] = {}
            row_of: dict[str, int] = {}  # a reminder's key names its case and deadline key, not the row
            for row_id, state, case_id, key in conn.execute(
                sa.select(deadlines.c.id, deadlines.c.status, deadlines.c.case_id, deadlines.c.key).where(
                    deadlines.c.id.in_(self._down_ids)
                )
            ):
                status[int(row_id)] = str(state)
                row_of[f"{case_id}.{key}"] = int(row_id)
            still = conn.execute(
                sa.select(sa.func.count()).where(
                    deadlines.c.id.in_(self._down_ids),
                    deadlines.c.status == "pending",
                    deadlines.c.next_reminder_at <= UP_AT,
                )
            ).scalar_one()
        sent = Counter((row_of[key.split("/")[1]], channel) for key, channel in keys if key.split("/")[1] in row_of)
        per_row = Counter(row for row, _ in sent)
        twice = [key for key, n in sent.items() if n > 1]
        missed = [row for row in self._down_ids if per_row[row] == 0 and status.get(row) != "expired"]
        self.figures["scheduler_down"]["fired"] = len(self._down_ids) - len(missed)
        if twice:
            self.breaches.append(f"scheduler down: reminders queued twice for {twice[:5]}")
        if missed or still:
            self.breaches.append(f"scheduler down: {len(missed)} due rows never fired ({missed[:5]}), {still} left due")
