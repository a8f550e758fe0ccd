"""The round's faults, at times drawn from a fixed seed: SIGKILLed workers and dispatcher, a PostgreSQL
restart, the SMTP server down for a while.

Each fault happens at a fraction of its phase's real duration (drawn once from the seed, so two
runs of one size fault at the same moments of the round) and is undone after a pause: the killed
process is started again, PostgreSQL comes back, the SMTP server listens again on its port. What
happened and when is kept as a :class:`Fault`, for the report (time to drain after each) and for
the invariants (503s are allowed only inside the database outage; a notice may be sent twice only
as often as a kill or the restart could have cut a dispatcher between send and record).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bench.round_fleet import Fleet

DISPATCHING = ("worker1", "worker2", "dispatcher")  # the processes that send notices


@dataclass(frozen=True, slots=True)
class Planned:
    phase: str
    at: float  # fraction of the phase's real duration
    kind: str  # kill, postgres, smtp
    target: str  # a process name for kill
    lasts: float  # real seconds until it is undone


@dataclass
class Fault:
    planned: Planned
    began: float  # time.monotonic()
    ended: float = 0.0
    began_at: datetime | None = None  # sandbox time
    error: str = ""

    @property
    def name(self) -> str:
        p = self.planned
        return f"{p.kind} {p.target}".strip() if p.kind == "kill" else p.kind


def plan(seed: int, postgres: bool) -> list[Planned]:
    """The faults of a run: fixed by ``seed`` (where within each phase), the same list for every size."""
    rng = random.Random(seed + 3)
    faults = [
        Planned("shenzhen", rng.uniform(0.3, 0.6), "kill", "worker1", 1.0),
        Planned("lg-window", rng.uniform(0.2, 0.45), "kill", "dispatcher", 1.0),
        Planned("lg-window", rng.uniform(0.55, 0.8), "kill", "worker2", 1.0),
        Planned("lg-surge", rng.uniform(0.15, 0.3), "smtp", "", 0.0),  # lasts a quarter of the phase
        Planned("lg-surge", rng.uniform(0.55, 0.75), "kill", "worker1", 1.0),
        Planned("lg-after", rng.uniform(0.55, 0.7), "kill", "dispatcher", 1.0),
        Planned("lg-after", rng.uniform(0.75, 0.85), "kill", "worker2", 1.0),
    ]
    if postgres:
        faults.append(Planned("lg-after", rng.uniform(0.2, 0.4), "postgres", "", 2.0))
    return sorted(faults, key=lambda p: (p.phase, p.at))


class Injector:
    """Runs one phase's faults on a thread while the driver runs the phase."""

    def __init__(self, fleet: Fleet, now: Callable[[], datetime]) -> None:
        self.fleet = fleet
        self.now = now  # the sandbox clock's now
        self.faults: list[Fault] = []
        self._threads: list[threading.Thread] = []

    def start_phase(self, planned: list[Planned], seconds: float) -> None:
        began = time.monotonic()
        for item in planned:
            lasts = item.lasts or seconds * 0.25
            thread = threading.Thread(target=self._do, args=(item, began + item.at * seconds, lasts), daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _do(self, item: Planned, when: float, lasts: float) -> None:
        time.sleep(max(when - time.monotonic(), 0))
        fault = Fault(item, time.monotonic(), began_at=self.now())
        self.faults.append(fault)
        try:
            if item.kind == "kill":
                self.fleet.processes[item.target].kill()
                time.sleep(lasts)
                self.fleet.restart(item.target)
            elif item.kind == "postgres":
                self.fleet.database.stop_server()
                time.sleep(lasts)
                self.fleet.database.start_server()
            elif item.kind == "smtp":
                self.fleet.smtp.stop()
                time.sleep(lasts)
                self.fleet.smtp.start()
        except Exception as exc:  # reported as a failure of the run, not swallowed
            fault.error = f"{type(exc).__name__}: {exc}"
        fault.ended = time.monotonic()

    def kills_hitting_dispatch(self) -> int:
        """How many times a sending process could have been cut between a send and its record."""
        kills = sum(1 for f in self.faults if f.planned.kind == "kill" and f.planned.target in DISPATCHING)
        restarts = sum(1 for f in self.faults if f.planned.kind == "postgres")
        return kills + restarts * len(DISPATCHING)

    def outages(self) -> list[tuple[float, float]]:
        """Real intervals in which a 503 is expected: the database down, plus time for pools to reconnect."""
        return [(f.began, (f.ended or time.monotonic()) + 5.0) for f in self.faults if f.planned.kind == "postgres"]
