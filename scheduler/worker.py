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
from datetime import timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from notifications.dispatcher import Dispatcher
from scheduler import jobs
from workflow.engine import Engine
from workflow.idempotency import MIN_RETENTION

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
    key_retention: timedelta = MIN_RETENTION,
) -> BaseScheduler:
    """A scheduler with two jobs every ``interval`` seconds: deadlines, and (given a dispatcher) the outbox.

    They run on separate threads, so an SMTP or SMS outage that slows delivery never delays
    an expiry or a reminder; each job runs one instance at a time.
    """
    name = name or jobs.worker_name()
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler: BaseScheduler = kind(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults=_job_options(),
        timezone="Asia/Shanghai",
    )
    scheduler.add_job(
        _guarded("deadlines", lambda: jobs.deadline_pass(engine, name, key_retention=key_retention)),
        "interval",
        seconds=interval,
        id="deadlines",
        next_run_time=_soon(),
    )
    if dispatcher is not None:
        outbox = dispatcher
        scheduler.add_job(
            _guarded("outbox", lambda: jobs.dispatch_outbox(outbox)),
            "interval",
            seconds=interval,
            id="outbox",
            next_run_time=_soon(),
        )
    return scheduler


def _guarded(job: str, work: Callable[[], object]) -> Callable[[], None]:
    """One failed run must not stop the worker: it is logged, and the next run tries again."""

    def run() -> None:
        try:
            log.debug("%s: %s", job, work())
        except Exception:
            log.exception("scheduler job %s failed", job)

    return run


def _soon() -> Any:
    """APScheduler schedules in real time; the first tick runs at start-up."""
    from datetime import UTC, datetime

    return datetime.now(UTC)  # noqa: TID251 - APScheduler's own timeline, not a business time


def run_worker(
    engine: Engine,
    *,
    interval: float = DEFAULT_INTERVAL,
    dispatcher: Dispatcher | None = None,
    key_retention: timedelta = MIN_RETENTION,
) -> None:
    """Run until SIGTERM or SIGINT, then finish the current tick and stop."""
    scheduler = build_scheduler(engine, interval=interval, dispatcher=dispatcher, key_retention=key_retention)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping the worker after the current tick", signum)
        threading.Thread(target=scheduler.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started: tick every %.0f s on %s", interval, engine.database.url.render_as_string(True))
    scheduler.start()
    log.info("worker stopped")
