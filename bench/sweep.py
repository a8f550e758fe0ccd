"""Finding due deadlines among many: the sweep query at 10k, 100k and 1M pending rows, before and
after 500,000 finished rows pile up, on SQLite and PostgreSQL; baseline: the same query with an
index on ``due_at`` alone instead of the partial index on pending rows. Also the time to process
1,000 expiries through ``Engine.expire_due`` (each its own transaction: audit event, closed
deadline, the applicant's SMS and email, the staff alert and a webhook row), and on SQLite the
floor under it: 1,000 bare one-row transactions at the same ``synchronous=FULL``.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PROGRAM, sh
from tests.support.postgres import PostgresCluster, find_bindir, start_cluster
from workflow import schema
from workflow.audit import GENESIS
from workflow.clock import ManualClock
from workflow.database import SQLITE_PRAGMAS, create_database_engine
from workflow.tables import cases, deadlines, webhook_subscriptions

NOW = sh("2025-10-20 09:00")
DUE = 1000
BATCH = 20_000


def _query(now: Any) -> Any:
    return (
        sa.select(deadlines.c.id)
        .where(deadlines.c.status == "pending", deadlines.c.due_at <= now)
        .order_by(deadlines.c.due_at, deadlines.c.id)
        .limit(DUE)
    )


def insert_case(conn: sa.Connection, state: str = "awaiting_paper", applicant_code: str = "BENCH") -> int:
    row = {
        "program_key": PROGRAM,
        "program_version": 1,
        "state": state,
        "final": False,
        "version": 0,
        "applicant_name": "bench",
        "applicant_code": applicant_code,
        "applicant_email": "bench@example.cn",
        "applicant_phone": "13900000000",
        "data": {},
        "chain_head": GENESIS,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return int(conn.execute(sa.insert(cases).returning(cases.c.id), row).scalar_one())


def deadline_rows(case_id: int, count: int, *, due: Any, status: str = "pending") -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "key": "paper_delivery",
            "rule": "LG-DL-1",
            "label": "bench",
            "state": "awaiting_paper",
            "on_expiry": "miss_paper_deadline",
            "working_days": 5,
            "started_at": NOW,
            "ledger": [],
            "due_at": due + timedelta(seconds=i),
            "estimated": False,
            "status": status,
            "next_rung": 0,
        }
        for i in range(count)
    ]


def _insert(engine: sa.Engine, rows_of: Any, count: int) -> None:
    for start in range(0, count, BATCH):
        with engine.begin() as conn:
            conn.execute(sa.insert(deadlines), rows_of(min(BATCH, count - start)))


def _median_ms(engine: sa.Engine, runs: int = 15) -> float:
    times = []
    with engine.connect() as conn:
        for _ in range(runs):
            started = time.perf_counter()
            found = conn.execute(_query(NOW)).scalars().all()
            times.append((time.perf_counter() - started) * 1000)
            assert len(found) == DUE
        conn.rollback()
    return round(statistics.median(times), 3)


def _measure(url: str, sizes: tuple[int, ...], finished: int) -> dict[str, Any]:
    engine = create_database_engine(url)
    schema.upgrade(engine)
    with engine.begin() as conn:
        holder = insert_case(conn)
    out: dict[str, Any] = {}
    have = 0
    _insert(engine, lambda n: deadline_rows(holder, n, due=NOW - timedelta(days=1)), DUE)
    for size in sizes:
        _insert(engine, lambda n: deadline_rows(holder, n, due=NOW + timedelta(days=30)), size - DUE - have)
        have = size - DUE
        out[f"pending_{size}"] = _median_ms(engine)
    _insert(engine, lambda n: deadline_rows(holder, n, due=NOW - timedelta(days=60), status="met"), finished)
    out[f"pending_{sizes[-1]}_plus_{finished}_finished"] = _median_ms(engine)
    with engine.begin() as conn:  # baseline: an index on the due time alone
        conn.exec_driver_sql("DROP INDEX ix_deadlines_pending_due")
        conn.exec_driver_sql("CREATE INDEX ix_bench_due_only ON deadlines (due_at)")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE deadlines")
            conn.commit()
    out[f"baseline_due_at_index_{sizes[-1]}_plus_{finished}_finished"] = _median_ms(engine)
    engine.dispose()
    return out


def _expiries(url: str) -> float:
    """Seconds to expire 1,000 real paper deadlines through the engine."""
    engine = bootstrap(Settings(database_url=url, audit_key="bench"), clock=ManualClock(NOW), migrate=True)
    with engine.database.begin() as conn:
        conn.execute(
            sa.insert(webhook_subscriptions).values(
                url="https://platform.example.cn/hooks", secret="s" * 32, events=[], created_by="bench", created_at=NOW
            )
        )
        for _ in range(DUE):
            conn.execute(sa.insert(deadlines), deadline_rows(insert_case(conn), 1, due=NOW - timedelta(days=2)))
    started = time.perf_counter()
    done = engine.expire_due(limit=DUE)
    elapsed = time.perf_counter() - started
    assert len(done) == DUE
    engine.database.dispose()
    return round(elapsed, 3)


def _commit_floor(path: Path) -> float:
    """Seconds for 1,000 one-row transactions on SQLite with the engine's settings: the fsyncs alone."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        con.execute(pragma)
    con.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, n INT)")
    con.executemany("INSERT INTO floor VALUES (?, 0)", ((i,) for i in range(DUE)))
    started = time.perf_counter()
    for i in range(DUE):
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE floor SET n = n + 1 WHERE id = ?", (i,))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return round(elapsed, 3)


def run(quick: bool) -> dict[str, Any]:
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    finished = 100_000 if quick else 500_000
    results: dict[str, Any] = {"due": DUE, "target_ms": 10, "target_expiries_s": 2}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = _measure(f"sqlite:///{Path(tmp) / 'sweep.db'}", sizes, finished)
        results["sqlite"]["expire_1000_s"] = _expiries(f"sqlite:///{Path(tmp) / 'expire.db'}")
        results["sqlite"]["commit_floor_1000_s"] = _commit_floor(Path(tmp) / "floor.db")
    bindir = find_bindir()
    if bindir is None:
        results["postgresql"] = "skipped: no PostgreSQL binaries"
        return results
    cluster: PostgresCluster = start_cluster(bindir)
    try:
        cluster.execute("CREATE DATABASE sweep")
        cluster.execute("CREATE DATABASE expire")
        results["postgresql"] = _measure(cluster.url("sweep"), sizes, finished)
        results["postgresql"]["expire_1000_s"] = _expiries(cluster.url("expire"))
    finally:
        cluster.stop()
    return results
