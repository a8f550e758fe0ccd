"""The scheduler worker: APScheduler 3.x as a ticker, never as a store of our work.

Only in-memory interval jobs: never one APScheduler job per case and never a shared
APScheduler job store (3.x forbids sharing one between processes, and with the default
``misfire_grace_time`` it silently dropped a job that was late after a restart here).
Every job is ``misfire_grace_time=None`` and ``coalesce=True``: a late tick runs once,
late, and the tick itself catches up on everything due.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from notifications.dispatcher import Dispatcher
from scheduler import jobs
from workflow.engine import Engine

log = logging.getLogger("filingflow.scheduler")
DEFAULT_INTERVAL = 30.0


def _job_options() -> dict[str, Any]:
    return {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


def build_scheduler(
    engine: Engine,
    *,
    interval: float = DEFAULT_INTERVAL,
    name: str | None = None,
    background: bool = False,
    dispatcher: Dispatcher | None = None,
    extra_jobs: dict[str, Callable[[], object]] | None = None,
) -> BaseScheduler:
    """A scheduler with the tick job (and any extra jobs) every ``interval`` seconds."""
    name = name or jobs.worker_name()
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler: BaseScheduler = kind(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults=_job_options(),
        timezone="Asia/Shanghai",
    )

    def tick() -> None:
        try:
            report = jobs.tick(engine, name, dispatcher)
            log.debug("tick: %s", report)
        except Exception:  # one bad tick must not stop the worker; the next tick retries
            log.exception("scheduler tick failed")

    scheduler.add_job(tick, "interval", seconds=interval, id="tick", next_run_time=_soon())
    for job_id, job in (extra_jobs or {}).items():
        scheduler.add_job(job, "interval", seconds=interval, id=job_id, next_run_time=_soon())
    return scheduler


def _soon() -> Any:
    """APScheduler schedules in real time; the first tick runs at start-up."""
    from datetime import UTC, datetime

    return datetime.now(UTC)  # noqa: TID251 - APScheduler's own timeline, not a business time


def run_worker(engine: Engine, *, interval: float = DEFAULT_INTERVAL, dispatcher: Dispatcher | None = None) -> None:
    """Run until SIGTERM or SIGINT, then finish the current tick and stop."""
    scheduler = build_scheduler(engine, interval=interval, dispatcher=dispatcher)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping the worker after the current tick", signum)
        threading.Thread(target=scheduler.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started: tick every %.0f s on %s", interval, engine.database.url.render_as_string(True))
    scheduler.start()
    log.info("worker stopped")
