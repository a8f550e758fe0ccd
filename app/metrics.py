"""Prometheus metrics at ``/metrics`` (prometheus-client).

Two kinds:

* **Commands** this process ran: ``filingflow_commands_total{command, program, event, outcome}``
  and the latency histogram ``filingflow_command_seconds{command}``. Counted by wrapping the
  engine's command methods (:func:`instrument`), so the API, the console and anything else in
  the process are counted alike; Prometheus sums the counters of several processes.
* **State in the database**, computed when scraped (:class:`DatabaseCollector`), so every
  process reports the same figures whoever changed them: outbox depth by status and channel,
  the age of the oldest pending notice, dead notices, deadline sweep lag (now minus the oldest
  pending deadline already due), each worker's heartbeat age, and open deadlines computed from
  an estimated calendar, by year. "Now" is the engine's clock, the one deadlines are judged by.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.api.deps import metrics_reader  # the API's own bearer check: one token store, one cache
from workflow.database import read_only
from workflow.engine import Engine
from workflow.errors import (
    ConflictError,
    FilingFlowError,
    GuardRefused,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    NotPermitted,
    StorageUnavailable,
    TransitionNotAllowed,
)
from workflow.tables import cases, deadlines, notices, worker_heartbeats

COMMANDS = ("open_case", "fire", "override")
OPEN_DEADLINE_STATUSES = ("pending", "suspended")
# Outcome labels, most specific first: a bounded set, whatever errors are added later.
OUTCOMES: tuple[tuple[type[BaseException], str], ...] = (
    (GuardRefused, "refused"),
    (TransitionNotAllowed, "refused"),
    (NotPermitted, "forbidden"),
    (ConflictError, "conflict"),
    (IdempotencyKeyReused, "invalid"),
    (InvalidInput, "invalid"),
    (NotFound, "not_found"),
    (StorageUnavailable, "unavailable"),
    (FilingFlowError, "error"),
)


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    return next((label for kind, label in OUTCOMES if isinstance(error, kind)), "error")


class Metrics:
    """One registry per served app (never the global one, so tests can build many apps)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "filingflow_commands",
            "Engine commands run by this process, by program, event and outcome",
            ("command", "program", "event", "outcome"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "filingflow_command_seconds",
            "Engine command latency in seconds (one database transaction each)",
            ("command",),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector(engine))
        instrument(engine, self)


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Serve ``GET /metrics`` in Prometheus' text format to a ``metrics`` or ``admin`` bearer token only.

    Closed by default: no such token exists until an operator makes one (``filingflow tokens
    create --role metrics``), and a ``metrics`` token opens nothing else (:func:`app.api.deps.get_caller`).
    """

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def instrument(engine: Engine, metrics: Metrics) -> None:
    """Count and time ``open_case``, ``fire`` and ``override`` on this engine instance (once)."""
    if getattr(engine, "_filingflow_metrics", None) is not None:
        return
    engine._filingflow_metrics = metrics  # type: ignore[attr-defined]
    for command in COMMANDS:
        setattr(engine, command, _timed(engine, command, getattr(engine, command), metrics))


def _timed(engine: Engine, command: str, method: Callable[..., Any], metrics: Metrics) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        result: Any = None
        try:
            result = method(*args, **kwargs)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            metrics.latency.labels(command).observe(time.perf_counter() - started)
            program, event = _labels(engine, command, args, kwargs, result)
            metrics.commands.labels(command, program, event, outcome_of(error)).inc()

    return wrapper


def _labels(
    engine: Engine, command: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
) -> tuple[str, str]:
    if command == "open_case":
        return str(args[0] if args else kwargs.get("program", "")), "open"
    case_id = args[0] if args else kwargs.get("case_id")
    event = str(args[1] if len(args) > 1 else kwargs.get("event", kwargs.get("target", "")))
    if command == "override":
        event = "override"
    program = getattr(getattr(result, "case", result), "program", None)
    if program is None:  # refused: the case's program from the database, if the case exists
        program = _program_of(engine, case_id)
    return str(program), event


def _program_of(engine: Engine, case_id: Any) -> str:
    if not isinstance(case_id, int):
        return "unknown"
    try:
        with read_only(engine.database) as conn:
            key = conn.execute(sa.select(cases.c.program_key).where(cases.c.id == case_id)).scalar()
    except sa.exc.SQLAlchemyError:
        return "unknown"
    return str(key) if key else "unknown"


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time: the same answer from every process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        now = self.engine.clock.now()
        read = _read(self.engine, now)
        yield from _outbox_families(now, read)
        yield GaugeMetricFamily(
            "filingflow_deadline_sweep_lag_seconds",
            "Now minus the oldest pending deadline already due (0 when none is overdue)",
            value=_age(now, read.oldest_due),
        )
        heartbeat = GaugeMetricFamily(
            "filingflow_worker_heartbeat_age_seconds", "Seconds since each worker's last tick", labels=("worker",)
        )
        for name, beat_at in read.beats:
            heartbeat.add_metric((name,), _age(now, beat_at))
        yield heartbeat
        yield _estimated_family(read.estimated)


@dataclass(frozen=True, slots=True)
class _Reads:
    """What one scrape reads, in one read-only transaction."""

    depth: Sequence[Any]  # (status, channel, count)
    oldest_pending: datetime | None
    oldest_due: datetime | None
    beats: Sequence[Any]  # (worker name, last beat)
    estimated: Sequence[Any]  # (due_at,) of open deadlines on an estimated calendar


def _read(engine: Engine, now: datetime) -> _Reads:
    with read_only(engine.database) as conn:
        return _Reads(
            depth=conn.execute(
                sa.select(notices.c.status, notices.c.channel, sa.func.count()).group_by(
                    notices.c.status, notices.c.channel
                )
            ).all(),
            oldest_pending=conn.execute(
                sa.select(sa.func.min(notices.c.created_at)).where(notices.c.status == "pending")
            ).scalar(),
            oldest_due=conn.execute(
                sa.select(sa.func.min(deadlines.c.due_at)).where(
                    deadlines.c.status == "pending", deadlines.c.due_at <= now
                )
            ).scalar(),
            beats=conn.execute(sa.select(worker_heartbeats.c.name, worker_heartbeats.c.beat_at)).all(),
            estimated=conn.execute(
                sa.select(deadlines.c.due_at).where(
                    deadlines.c.status.in_(OPEN_DEADLINE_STATUSES), deadlines.c.estimated.is_(True)
                )
            ).all(),
        )


def _outbox_families(now: datetime, read: _Reads) -> Iterator[Metric]:
    outbox = GaugeMetricFamily(
        "filingflow_outbox_notices", "Notices in the outbox by status and channel", labels=("status", "channel")
    )
    for status, channel, count in read.depth:
        outbox.add_metric((status, channel), count)
    yield outbox
    dead = sum(count for status, _, count in read.depth if status == "dead")
    yield GaugeMetricFamily("filingflow_dead_notices", "Notices given up on (dead), all channels", value=dead)
    yield GaugeMetricFamily(
        "filingflow_outbox_oldest_pending_age_seconds",
        "Age of the oldest pending notice (0 when none is pending)",
        value=_age(now, read.oldest_pending),
    )


def _estimated_family(estimated: Sequence[Any]) -> GaugeMetricFamily:
    by_year: dict[str, int] = {}
    for (due_at,) in estimated:
        year = str(due_at.year) if due_at is not None else "suspended"
        by_year[year] = by_year.get(year, 0) + 1
    family = GaugeMetricFamily(
        "filingflow_estimated_deadlines",
        "Open deadlines computed from an estimated calendar (a year whose arrangement is not loaded), by due year",
        labels=("year",),
    )
    for year, count in sorted(by_year.items()):
        family.add_metric((year,), count)
    return family


def _age(now: Any, then: Any) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0
