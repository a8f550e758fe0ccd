"""The round's faults, at times drawn from a fixed seed: SIGKILLed workers and dispatcher, a PostgreSQL
restart, the SMTP server down for a while.

Each fault happens at an instant of the round's sandbox time (drawn once from the seed, so two
runs of any size fault at the same moments of the round) and is undone after a pause: the killed
process is started again a real second later, PostgreSQL after 2 real seconds, the SMTP server
listens again on its port two sandbox hours later. What
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
from datetime import datetime, timedelta

from bench.round_fleet import Fleet
from bench.round_workload import sh

DISPATCHING = ("worker1", "worker2", "dispatcher")  # the processes that send notices


@dataclass(frozen=True, slots=True)
class Planned:
    phase: str
    at: datetime  # sandbox time
    kind: str  # kill, postgres, smtp
    target: str  # a process name for kill
    lasts: float  # real seconds until it is undone (kill, postgres); sandbox seconds (smtp)


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


def _day(rng: random.Random, first: str, last: str) -> datetime:
    start, end = sh(first), sh(last)
    return start + timedelta(seconds=round(rng.uniform(0, (end - start).total_seconds())))


def plan(seed: int, postgres: bool) -> list[Planned]:
    """The faults of a run: fixed by ``seed`` (when, in sandbox time), the same list for every size."""
    rng = random.Random(seed + 3)
    faults = [
        Planned("shenzhen", _day(rng, "2024-11-24 10:00", "2024-12-06 18:00"), "kill", "worker1", 1.0),
        Planned("lg-window", _day(rng, "2025-08-18 10:00", "2025-08-26 18:00"), "kill", "dispatcher", 1.0),
        Planned("lg-window", _day(rng, "2025-08-28 10:00", "2025-09-05 18:00"), "kill", "worker2", 1.0),
        Planned("lg-surge", _day(rng, "2025-09-13 17:00", "2025-09-13 19:00"), "smtp", "", 7200.0),
        Planned("lg-surge", _day(rng, "2025-09-13 20:30", "2025-09-13 22:00"), "kill", "worker1", 1.0),
        Planned("lg-after", _day(rng, "2025-10-15 09:00", "2025-10-25 18:00"), "kill", "dispatcher", 1.0),
        Planned("lg-after", _day(rng, "2025-10-27 09:00", "2025-11-07 18:00"), "kill", "worker2", 1.0),
    ]
    if postgres:
        faults.append(Planned("lg-after", _day(rng, "2025-09-23 09:00", "2025-10-08 18:00"), "postgres", "", 2.0))
    return sorted(faults, key=lambda p: p.at)


class Injector:
    """Runs the faults on threads of their own, each when the sandbox clock reaches its instant."""

    def __init__(self, fleet: Fleet, now: Callable[[], datetime]) -> None:
        self.fleet = fleet
        self.now = now  # the sandbox clock's now
        self.faults: list[Fault] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def start(self, planned: list[Planned]) -> None:
        for item in planned:
            thread = threading.Thread(target=self._do, args=(item,), daemon=True, name=f"fault-{item.kind}")
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        """Undo what is under way; the faults whose instant never came are dropped."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _until(self, when: datetime) -> bool:
        while self.now() < when:
            if self._stop.wait(0.02):
                return False
        return True

    def _do(self, item: Planned) -> None:
        if not self._until(item.at):
            return
        fault = Fault(item, time.monotonic(), began_at=self.now())
        self.faults.append(fault)
        try:
            if item.kind == "kill":
                self.fleet.processes[item.target].kill()
                time.sleep(item.lasts)
                self.fleet.restart(item.target)
            elif item.kind == "postgres":
                self.fleet.database.stop_server()
                time.sleep(item.lasts)
                self.fleet.database.start_server()
            elif item.kind == "smtp":
                self.fleet.smtp.stop()
                self._stop.wait(0.5)  # at least half a real second down, however fast the clock
                self._until(item.at + timedelta(seconds=item.lasts))
                self.fleet.smtp.start()
        except Exception as exc:  # reported as a failure of the run, not swallowed
            fault.error = f"{type(exc).__name__}: {exc}"
        fault.ended = time.monotonic()

    def kills_hitting_dispatch(self, extra: int = 0) -> int:
        """How many times a sending process could have been cut between a send and its record."""
        kills = sum(1 for f in self.faults if f.planned.kind == "kill" and f.planned.target in DISPATCHING)
        restarts = sum(1 for f in self.faults if f.planned.kind == "postgres")
        return kills + extra + restarts * len(DISPATCHING)

    def outages(self) -> list[tuple[float, float]]:
        """Real intervals in which a 503 is expected: the database down, plus time for pools to reconnect."""
        return [(f.began, (f.ended or time.monotonic()) + 5.0) for f in self.faults if f.planned.kind == "postgres"]
