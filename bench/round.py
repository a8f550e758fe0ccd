"""``python -m bench round``: a whole round under load and faults, on several processes (issue 16, item 1).

The Shenzhen 2024 voucher round, then the Longgang 2025 round, replayed on one database by a
fleet of real processes (bench/round_fleet.py: 2 API processes, 2 workers, a dispatcher, SMTP
and SMS on loopback) on a sandbox clock running faster than real time (FILINGFLOW_CLOCK_RATE).
The workload (bench/round_workload.py) and the faults (bench/round_faults.py) are fixed by a
seed. The round is played in phases, each on a timeline of its own (start and rate): a rate
that lets a month-long window pass in seconds would turn the surge's 8 hours into a blink, so
the surge gets a slower clock. The Shenzhen round took place nine months before Longgang's, so
it runs first; one clock cannot show both windows open at once.

Between phases the processes that act on the clock by themselves (workers, dispatcher) are
frozen at once and ended, and the next phase starts no earlier than where the last one stopped,
so the sandbox time never runs backwards. A last phase at real-time speed lets the workers and
the dispatcher drain what is due; then the invariants are checked (bench/round_checks.py), the
figures and chart written (bench/round_report.py), and any breach raises :class:`RoundFailed`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from bench import round_checks
from bench.round_driver import Driver
from bench.round_faults import Injector, plan
from bench.round_fleet import AUDIT_KEY, Fleet, open_database
from bench.round_metrics import Sampler
from bench.round_report import chart, figures, table
from bench.round_scenario import Scenario
from bench.round_workload import LG_QUIET, LG_SURGE, longgang, sh, shenzhen, surge_share
from workflow.clock import ManualClock, SystemClock
from workflow.database import create_database_engine
from workflow.tables import cases

RESULTS = Path(__file__).with_name("results")
SETTLE_SECONDS = 180.0  # real seconds the last phase may take to drain the outbox and the sweep


def say(text: str) -> None:
    print(f"[round {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class RoundFailed(AssertionError):
    """An invariant was breached; the message lists every breach."""


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    start: datetime
    end: datetime
    work: float  # requests per applicant (Longgang) or SME (Shenzhen), to size its real duration
    top_rate: int  # at most this fast: a phase's last requests finish a second or two late, which must
    # not carry it into the next phase's events (the window phase ends 4.6 days before the surge)


PHASES = (
    Phase("shenzhen", sh("2024-11-18 22:00"), sh("2025-01-03 00:00"), 8.0, 500_000),
    Phase("lg-window", sh("2025-08-12 22:00"), LG_QUIET + timedelta(hours=4), 2.5, 150_000),
    Phase("lg-surge", LG_SURGE - timedelta(hours=1), sh("2025-09-14 02:00"), 0.8, 20_000),
    Phase("lg-after", sh("2025-09-14 02:00"), sh("2025-11-20 00:00"), 9.0, 500_000),
)


def real_seconds(phase: Phase, applicants: int, smes: int, pace: float) -> float:
    """How long a phase takes in real time: a floor, plus its requests at ``pace`` per second."""
    people = smes if phase.name == "shenzhen" else applicants
    return round(6.0 + people * phase.work / pace, 1)


def run(
    quick: bool,
    *,
    applicants: int | None = None,
    database: str | None = None,
    seed: int = 16,
    pace: float = 60.0,
    threads: int = 8,
    chart_path: Path | None = None,
) -> dict[str, Any]:
    """Play the round; returns the figures, raises :class:`RoundFailed` on any breached invariant."""
    kind = database or os.environ.get("BENCH_ROUND_DATABASE", "postgresql")
    default = 10_000 if kind == "postgresql" else 2_000
    applicants = applicants or (200 if quick else int(os.environ.get("BENCH_ROUND_APPLICANTS", default)))
    smes = max(applicants // 5, 5)
    filers, vouchers = longgang(applicants, seed), shenzhen(smes, seed)
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="bench-round-"))
    fleet = Fleet(folder, open_database(kind, folder))
    try:
        staff, platform = fleet.prepare()
        driver = Driver(fleet.bases, {"staff": staff, "platform": platform}, threads=threads)
        scenario = Scenario(driver, None, folder, seed)
        scenario.shenzhen(vouchers)
        scenario.longgang(filers)
        sampler = Sampler(fleet.database.url)
        sampler.start()
        injector = Injector(fleet, driver.now)
        faults = plan(seed, fleet.database.kind == "postgresql")
        phases: dict[str, Any] = {}
        phase_end_kills = 0
        lead = fleet.first_lead  # real seconds for the fleet to start; grows if a start-up takes longer
        stopped: datetime | None = None
        for phase in PHASES:
            seconds = real_seconds(phase, applicants, smes, pace)
            start = max(phase.start, stopped + timedelta(minutes=1)) if stopped else phase.start
            end = max(phase.end, start + timedelta(hours=1))  # the phase before overran: a short phase
            rate = float(
                min(round((end - start).total_seconds() / seconds), phase.top_rate)
            )  # whole: read back exactly
            seconds = round((end - start).total_seconds() / rate, 1)
            clock, lead = fleet.begin_phase(start, rate, lead)
            _wait_for(clock.real_start)
            scenario.engine = bootstrap(
                Settings(database_url=fleet.database.url, audit_key=AUDIT_KEY), clock=clock, migrate=False
            )
            driver.clock, driver.phase = clock, phase.name
            sampler.clock, sampler.phase, sampler.rate = clock, phase.name, rate
            real_began = time.monotonic()
            injector.start_phase([f for f in faults if f.phase == phase.name], seconds)
            driver.run_until(end)
            sampler.clock = None  # no samples between phases: this clock runs on while the next starts
            ran = time.monotonic() - real_began
            injector.join()
            stopped = clock.now()
            last = phase is PHASES[-1]
            say(
                f"{phase.name}: {start:%Y-%m-%d %H:%M} at rate {rate:.0f}, planned {seconds} s, driver done "
                f"after {ran:.1f} s, faults joined after {time.monotonic() - real_began:.1f} s, "
                f"stopped at {stopped:%Y-%m-%d %H:%M}"
            )
            if not last:  # the last phase's processes go on: they drain what is left (below)
                phase_end_kills += fleet.end_phase()
            scenario.engine.database.dispose()
            phases[phase.name] = {
                "span": f"{start:%Y-%m-%d %H:%M}..{stopped:%Y-%m-%d %H:%M}",
                "rate": round(rate),
                "planned_real_seconds": seconds,
                "real_seconds": round(time.monotonic() - real_began, 1),
            }
        # settle: the last phase's clock and processes go on until all is drained
        driver.phase = "settle"
        sampler.clock, sampler.phase, sampler.rate = clock, "settle", rate
        settled = _settle(sampler, clock, rate)
        sampler.stop()
        end = clock.now() - timedelta(seconds=rate)  # none may be left due by a real second before the end
        phase_end_kills += fleet.end_phase()
        driver.close()
        allowance = injector.kills_hitting_dispatch() + phase_end_kills
        breaches = (
            list(driver.errors)
            + scenario.staff_failures
            + [f"fault {f.name}: {f.error}" for f in injector.faults if f.error]
        )
        if not settled:
            breaches.append(f"not drained within {SETTLE_SECONDS:.0f} s after the last phase")
        breaches += round_checks.one_timeline(fleet)
        breaches += round_checks.audit_cli(fleet)
        engine = bootstrap(
            Settings(database_url=fleet.database.url, audit_key=AUDIT_KEY), clock=ManualClock(end), migrate=False
        )
        try:
            breaches += round_checks.whole_database(engine)
        finally:
            engine.database.dispose()
        breaches += round_checks.deadlines_once(fleet.database.url, end)
        breaches += round_checks.caps(fleet.database.url)
        notice_breaches, notice_figures = round_checks.delivered(fleet, allowance)
        breaches += notice_breaches
        error_breaches, statuses = round_checks.server_errors(driver.calls, injector.outages())
        breaches += error_breaches
        result: dict[str, Any] = {
            "applicants": applicants,
            "smes": smes,
            "database": fleet.database.kind,
            "seed": seed,
            "surge_share": round(surge_share(filers), 2),
            "real_seconds": round(time.monotonic() - began, 1),
            "load_average": tuple(round(v, 1) for v in os.getloadavg()),
            "outcomes": dict(sorted(scenario.outcomes.items())),
            "refusals_sample": scenario.refusals,
            "statuses": statuses,
            "notices": notice_figures,
            "breaches": breaches,
        }
        result["figures"] = figures(driver.calls, sampler.samples, injector.faults, phases)
        result["figures"]["states"] = _states(fleet.database.url)
        png = chart(sampler.samples, driver.calls, injector.faults, chart_path or RESULTS / "round.png")
        result["chart"] = str(png) if png else "matplotlib is not installed: no chart"
        result["table"] = table(result)
        print(result["table"])
        if breaches:
            (RESULTS / "round-failed.json").parent.mkdir(exist_ok=True)
            (RESULTS / "round-failed.json").write_text(json.dumps(result, indent=2, default=str))
            raise RoundFailed(f"{len(breaches)} invariant breach(es), logs in {folder / 'logs'}: {breaches}")
        return result
    finally:
        fleet.close()


def _wait_for(real_start: datetime) -> None:
    """Until the phase's timeline begins (its processes have started; its clock stood still)."""
    time.sleep(max((real_start - SystemClock().now()).total_seconds(), 0))


def _settle(sampler: Sampler, clock: Any, rate: float) -> bool:
    """Wait until nothing is pending in the outbox and no deadline is overdue by more than a real second."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        try:
            sample = sampler.sample(clock)
        except Exception:  # the database coming back
            time.sleep(0.5)
            continue
        if sample.outbox_pending == 0 and sample.lag_s <= rate:
            time.sleep(1.0)  # one more tick for anything these last sends queued
            again = sampler.sample(clock)
            if again.outbox_pending == 0 and again.lag_s <= rate:
                return True
        time.sleep(0.25)
    return False


def _states(url: str) -> dict[str, dict[str, int]]:
    """How many cases of each program ended in each state."""
    database = create_database_engine(url)
    try:
        with database.connect() as conn:
            rows = conn.execute(
                sa.select(cases.c.program_key, cases.c.state, sa.func.count()).group_by(
                    cases.c.program_key, cases.c.state
                )
            ).all()
    finally:
        database.dispose()
    out: dict[str, dict[str, int]] = {}
    for program, state, count in rows:
        out.setdefault(program, {})[state] = int(count)
    return out
