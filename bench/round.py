"""``python -m bench round``: a whole round under load and faults, on several processes (issue 16, item 1).

The Shenzhen 2024 voucher round, then the Longgang 2025 round, replayed on one database by a
fleet of real processes (bench/round_fleet.py: 2 API processes, 2 workers, a dispatcher, SMTP
and SMS on loopback), started once, on one scheduled sandbox timeline. The workload
(bench/round_workload.py) and the faults (bench/round_faults.py) are fixed by a seed. The pacer
(bench/round_pacer.py) moves the clock a real second at a time as fast as the fleet keeps up:
slowly through the surge, fast through quiet weeks, jumping over stretches where nothing happens
and from the Shenzhen round to Longgang's nine months later (one clock cannot show both windows
open at once). The phases are stretches of sandbox time, for the figures; the two reliability
promises are played at their instants in the Longgang window (bench/round_promises.py). After the
last phase the clock runs on until the workers and the dispatcher have drained what is due; then
the invariants are checked (bench/round_checks.py), the figures and chart written
(bench/round_report.py), and any breach raises :class:`RoundFailed`.
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
from bench.round_pacer import TOP_RATE, Pacer
from bench.round_promises import DOWN_AT, PROBE_SECONDS, STORM_AT, UP_AT, Promises
from bench.round_report import chart, figures, table
from bench.round_scenario import Scenario
from bench.round_workload import LG_CLOSES, LG_SURGE, SZ_CLOSES, longgang, sh, shenzhen, surge_share
from workflow.clock import ManualClock
from workflow.database import create_database_engine
from workflow.tables import cases

RESULTS = Path(__file__).with_name("results")
SETTLE_SECONDS = 180.0  # real seconds the round may take, after its last phase, to drain the outbox and the sweep
FULL = {"postgresql": 10_000, "sqlite": 2_000}  # applicants at full size, by database


def say(text: str) -> None:
    print(f"[round {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class RoundFailed(AssertionError):
    """An invariant was breached; the message lists every breach."""


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    start: datetime
    end: datetime


PHASES = (
    Phase("shenzhen", sh("2024-11-18 22:00"), sh("2025-01-03 00:00")),
    Phase("lg-window", sh("2025-08-12 22:00"), LG_SURGE),
    Phase("lg-surge", LG_SURGE, sh("2025-09-14 02:00")),
    Phase("lg-after", sh("2025-09-14 02:00"), sh("2025-11-20 00:00")),
)

# the last hours of each window: filers submit minutes before the close (LG-WIN-1, SZ-WIN-1)
CAREFUL = ((SZ_CLOSES - timedelta(hours=12), SZ_CLOSES), (LG_SURGE, LG_CLOSES))


def run(
    quick: bool,
    *,
    applicants: int | None = None,
    database: str | None = None,
    seed: int = 16,
    threads: int = 16,
    probe_seconds: float = PROBE_SECONDS,
    top_rate: float = TOP_RATE,
    chart_path: Path | None = None,
) -> dict[str, Any]:
    """Play the round; returns the figures, raises :class:`RoundFailed` on any breached invariant."""
    kind = database or os.environ.get("BENCH_ROUND_DATABASE", "postgresql")
    applicants = applicants or (200 if quick else int(os.environ.get("BENCH_ROUND_APPLICANTS", FULL[kind])))
    smes = max(applicants // 5, 5)
    filers, vouchers = longgang(applicants, seed), shenzhen(smes, seed)
    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="bench-round-"))
    fleet = Fleet(folder, open_database(kind, folder), top_rate=top_rate)
    try:
        staff, platform = fleet.prepare()
        driver = Driver(fleet.bases, {"staff": staff, "platform": platform}, threads=threads)
        scenario = Scenario(driver, None, folder, seed)
        scenario.shenzhen(vouchers)
        scenario.longgang(filers)
        started = time.monotonic()
        clock = fleet.start(PHASES[0].start)
        say(f"fleet started in {time.monotonic() - started:.1f} s")
        driver.clock = clock
        scenario.engine = bootstrap(
            Settings(database_url=fleet.database.url, audit_key=AUDIT_KEY), clock=clock, migrate=False
        )
        pacer = Pacer(fleet.database.url, clock, driver, top_rate=top_rate, careful=CAREFUL)
        promises = Promises(fleet, driver, applicants >= FULL[fleet.database.kind], probe_seconds)
        stops = {
            STORM_AT - timedelta(seconds=1): lambda: promises.storm(
                [c.case_id for _, c in scenario.tracked("lg")],
                lambda end: driver.run_until(end, pacer=pacer),
            ),
            DOWN_AT: promises.scheduler_down,
            UP_AT: promises.scheduler_up,
        }
        sampler = Sampler(fleet.database.url)
        sampler.clock = clock
        sampler.start()
        injector = Injector(fleet, clock.now)
        faults = plan(seed, fleet.database.kind == "postgresql")
        injector.start(faults)
        phases: dict[str, Any] = {}
        for phase in PHASES:
            real_began, slices_before = time.monotonic(), len(pacer.slices)
            pacer.floor = phase.start
            driver.phase = sampler.phase = phase.name
            for at, hook in sorted(stops.items()):
                if phase.start <= at < phase.end:
                    driver.run_until(at, pacer=pacer)
                    hook()
            driver.run_until(phase.end, pacer=pacer)
            ran = round(time.monotonic() - real_began, 1)
            rates = [segment.rate for segment, _ in pacer.slices[slices_before:]]
            say(
                f"{phase.name}: {phase.start:%Y-%m-%d %H:%M}..{phase.end:%Y-%m-%d %H:%M} in {ran} s real, pace now "
                f"{pacer.pace:.0f} actions/s, {len(rates)} slices"
            )
            phases[phase.name] = {
                "span": f"{phase.start:%Y-%m-%d %H:%M}..{phase.end:%Y-%m-%d %H:%M}",
                "real_seconds": ran,
                "slices": len(rates),
                "rate_min": round(min(rates)) if rates else None,
                "rate_max": round(max(rates)) if rates else None,
            }
        # settle: the clock runs on (fast) until the workers and the dispatcher have drained what is due
        driver.phase = sampler.phase = "settle"
        settle_end = PHASES[-1].end + timedelta(days=2)
        driver.run_until(settle_end, pacer=pacer)
        settled = _settle(sampler, clock)
        sampler.stop()
        injector.join()
        end = clock.now()  # held: nothing may be left due at it
        driver.close()
        pacer.close()
        scenario.engine.database.dispose()
        promises.check_once()
        promises.close()
        allowance = injector.kills_hitting_dispatch(extra=promises.killed)
        breaches = (
            list(driver.errors)
            + scenario.staff_failures
            + promises.breaches
            + [f"fault {f.name}: {f.error}" for f in injector.faults if f.error]
        )
        missing = {(f.kind, f.target) for f in faults} - {(f.planned.kind, f.planned.target) for f in injector.faults}
        if missing:
            breaches.append(f"faults never injected: {sorted(missing)}")
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
            "pace": {"final": round(pacer.pace), "jumps": pacer.jumps, "slices": len(pacer.slices)},
            "outcomes": dict(sorted(scenario.outcomes.items())),
            "refusals_sample": scenario.refusals,
            "statuses": statuses,
            "notices": notice_figures,
            "promises": promises.figures,
            "breaches": breaches,
        }
        result["figures"] = figures(driver.calls, sampler.samples, injector.faults, phases)
        result["figures"]["states"] = _states(fleet.database.url)
        begins = {phase.name: phase.start for phase in PHASES}
        png = chart(sampler.samples, driver.calls, injector.faults, chart_path or RESULTS / "round.png", begins)
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


def _settle(sampler: Sampler, clock: Any) -> bool:
    """Wait until nothing is pending in the outbox and no deadline is due at the (held) clock."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        try:
            sample = sampler.sample(clock)
        except Exception:  # the database coming back
            time.sleep(0.5)
            continue
        if sample.outbox_pending == 0 and sample.lag_s == 0:
            time.sleep(1.0)  # one more tick for anything these last sends queued
            again = sampler.sample(clock)
            if again.outbox_pending == 0 and again.lag_s == 0:
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
