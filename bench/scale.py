"""Beyond one machine: fire-event throughput with 1, 2 and 4 API processes against one PostgreSQL,
the connections they hold, the CPU a request costs on each side, and the same through PgBouncer
in transaction mode (Debian's package; ``apt-get install pgbouncer``).

Each level starts ``uvicorn --workers N`` (one listening socket shared by N processes, each
with its own engine and connection pool) on a throwaway cluster, and drives it with bench/api.py's
load generator from another process: 32 client threads, each case always on the same thread,
every reply must be 2xx. Baselines measured in the same run: a bare FastAPI endpoint under the
same N workers (the ceiling), and the 1-process level itself (the scaling ratio). CPU comes from
/proc (utime + stime of the API process tree, of the postmaster and its backends, of PgBouncer),
so a figure can be carried to a machine with more cores: cores needed = rate x CPU ms / 1000.
While the load runs a thread samples ``pg_stat_activity`` for the peak number of server
connections. Pool sizing: the 4-process level again with each pool cut to 2 connections and no
overflow (``FILINGFLOW_DB_POOL_SIZE=2``, ``FILINGFLOW_DB_MAX_OVERFLOW=0``: 8 server connections,
what PgBouncer is given below).

PgBouncer checks, on the engine's own code where the engine has the code path:

- prepared statements: psycopg prepares a statement server-side on its 5th run. Two clients
  behind one PgBouncer server connection each preparing ``_pg3_0`` collide; PgBouncer 1.21+
  can track them (``max_prepared_statements``), Debian 12 ships 1.18. Shown with two raw psycopg
  connections, then the API load with psycopg's preparing off (``prepare_threshold=None``).
- ``pg_advisory_xact_lock`` (workflow/caps.py): a second transaction must wait for the first's
  commit, through PgBouncer.
- ``FOR UPDATE SKIP LOCKED`` (the deadline sweep): two processes run ``Engine.expire_due`` at
  once through PgBouncer over the same due deadlines; each must expire exactly once.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi import FastAPI

from app.api import create_app
from app.api.auth import create_token
from app.bootstrap import bootstrap
from app.settings import Settings
from bench.api import Plan, _fires, _in_child, _resynchronise
from states.registry import catalog
from tests.support.longgang import PLATFORM, PROGRAM, applicant, awaiting_paper, complete_data, sh
from tests.support.postgres import PostgresCluster, find_bindir, free_port, start_cluster
from workflow.clock import ManualClock
from workflow.database import create_database_engine
from workflow.engine import Engine
from workflow.tables import audit_events
from workflow.workdays import WorkingDayCalendar

NOW = sh("2025-08-20 09:00")
AUDIT_KEY = "bench"
CLIENTS = 32
CASES = 256  # a multiple of CLIENTS: each case falls to one client thread
LEVELS = (1, 2, 4)
BOUNCER_POOL = 8  # server connections PgBouncer keeps per database/user pair


# ---- the apps uvicorn imports in each worker process ------------------------------------


def api_app() -> FastAPI:
    """The API on ``BENCH_DATABASE_URL``; ``BENCH_PREPARE=off`` turns psycopg's server-side preparing off."""
    url = os.environ["BENCH_DATABASE_URL"]
    pool, overflow = (int(n) for n in os.environ.get("BENCH_POOL", "5,10").split(","))
    if os.environ.get("BENCH_PREPARE") != "off":
        settings = Settings(database_url=url, audit_key=AUDIT_KEY, db_pool_size=pool, db_max_overflow=overflow)
        return create_app(bootstrap(settings, clock=ManualClock(NOW), migrate=False))
    # bootstrap() has no way to pass driver options, so the same wiring by hand with one added
    database = create_database_engine(
        url, pool_size=pool, max_overflow=overflow, connect_args={"prepare_threshold": None}
    )
    engine = Engine(
        database=database,
        programs=catalog(),
        clock=ManualClock(NOW),
        calendar=WorkingDayCalendar(),
        audit_key=AUDIT_KEY.encode(),
    )
    engine.reload_calendar()
    return create_app(engine)


def ceiling_app() -> FastAPI:
    app = FastAPI()

    @app.get("/constant")
    def constant() -> dict[str, int]:
        return {"ok": 1}

    return app


# ---- processes and their CPU -------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from "state" on


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its live descendants, plus what its reaped children used."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
        total += utime + stime + cutime + cstime
        todo.extend(children.get(pid, []))
    return total / _TICK


def machine_busy() -> tuple[int, int]:
    """Busy and total jiffies of all cores so far (/proc/stat), for the busy fraction over an interval."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def postmaster_pid(cluster: PostgresCluster) -> int:
    return int((cluster.datadir / "postmaster.pid").read_text().split()[0])


@contextmanager
def api_server(
    url: str,
    workers: int,
    *,
    factory: str = "api_app",
    prepare: str = "on",
    pool: str = "5,10",
    log: Path | None = None,
) -> Iterator[tuple[str, int]]:
    """``uvicorn bench.scale:<factory> --workers N`` on a free port; yields the base URL and the master's pid.

    The servers' own output goes to ``log`` (or is dropped)."""
    port = free_port()
    code = (
        "import uvicorn; uvicorn.run("
        f"'bench.scale:{factory}', factory=True, host='127.0.0.1', port={port}, workers={workers}, "
        "log_level='warning', access_log=False, lifespan='off')"
    )
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_PREPARE": prepare, "BENCH_POOL": pool}
    sink = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=Path(__file__).parent.parent, stdout=sink, stderr=sink
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn with {workers} workers did not start") from None
                time.sleep(0.1)
        time.sleep(1.0 * workers)  # the socket is the master's: give every worker time to import and bind
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            sink.close()  # type: ignore[union-attr]


class ConnectionSampler:
    """Samples how many server connections the benchmark database has while the load runs."""

    def __init__(self, dsn: str, database: str) -> None:
        self.dsn, self.database = dsn, database
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database,),
                ).fetchone() or (0,)
                self.peak = max(self.peak, int(count))

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


# ---- PgBouncer ---------------------------------------------------------------------------


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    return found if Path(found).exists() else None


@contextmanager
def pgbouncer(cluster: PostgresCluster, database: str, *, pool: int) -> Iterator[tuple[str, int]]:
    """PgBouncer in transaction mode in front of ``database``; yields its SQLAlchemy URL and its pid."""
    binary = pgbouncer_binary()
    if binary is None:
        raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
    folder = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
    port = free_port()
    (folder / "userlist.txt").write_text('"filingflow" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{database} = host=127.0.0.1 port={cluster.port} dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool}\nmax_client_conn = 1000\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    user = "postgres" if os.geteuid() == 0 else None  # PgBouncer refuses to run as root
    if user:
        shutil.chown(folder, user)
        for item in folder.iterdir():
            shutil.chown(item, user)
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")], user=user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pgbouncer did not start: " + (folder / "pgbouncer.log").read_text()) from None
                time.sleep(0.05)
        yield f"postgresql+psycopg://filingflow@127.0.0.1:{port}/{database}", process.pid
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def check_prepared(url: str) -> dict[str, Any]:
    """Two psycopg connections through a one-server-connection PgBouncer, each running a query 6 times."""
    outcome: dict[str, Any] = {}
    for threshold in (5, None):  # psycopg's default, then preparing off
        conns = [psycopg.connect(_dsn(url), autocommit=True, prepare_threshold=threshold) for _ in range(2)]
        try:
            for _ in range(6):
                for conn in conns:
                    conn.execute("SELECT count(*) FROM cases WHERE id > %s", (0,)).fetchone()
            outcome["default" if threshold else "off"] = "ok"
        except psycopg.Error as exc:
            outcome["default" if threshold else "off"] = f"{type(exc).__name__}: {str(exc).strip()}"
        finally:
            for conn in conns:
                conn.close()
    return outcome


def check_advisory(url: str) -> dict[str, Any]:
    """The cap allocation's ``pg_advisory_xact_lock``: a second holder must wait for the first's commit."""
    hold = 0.5
    first, second = psycopg.connect(_dsn(url)), psycopg.connect(_dsn(url))
    waited: list[float] = []
    try:
        first.execute("SELECT pg_advisory_xact_lock(hashtext('cap:bench:APPLICANT'))")

        def take() -> None:
            started = time.perf_counter()
            second.execute("SELECT pg_advisory_xact_lock(hashtext('cap:bench:APPLICANT'))")
            waited.append(time.perf_counter() - started)
            second.commit()

        thread = threading.Thread(target=take)
        thread.start()
        time.sleep(hold)
        first.commit()
        thread.join(10)
        # after the commit, both client connections may land on any server connection: no lock is left behind
        (left,) = first.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone() or (0,)
        first.commit()
    finally:
        first.close()
        second.close()
    return {"second_waited_s": round(waited[0], 2), "held_s": hold, "locks_left": left, "ok": waited[0] >= hold * 0.9}


def _expire(url: str, start: Any) -> list[tuple[int, str]]:
    database = create_database_engine(url, connect_args={"prepare_threshold": None})
    clock = ManualClock(NOW + timedelta(days=30))
    engine = Engine(
        database=database, programs=catalog(), clock=clock, calendar=WorkingDayCalendar(), audit_key=AUDIT_KEY.encode()
    )
    start.wait()
    done = engine.expire_due(limit=50)
    database.dispose()
    return done


def check_skip_locked(direct: str, bounced: str, count: int) -> dict[str, Any]:
    """``count`` due paper deadlines, two processes running ``Engine.expire_due`` through PgBouncer at once."""
    engine = bootstrap(Settings(database_url=direct, audit_key=AUDIT_KEY), clock=ManualClock(NOW), migrate=False)
    ids = []
    for serial in range(count):
        case_id, _ = awaiting_paper(engine, engine.clock, "2025-08-21 10:00", serial=5000 + serial)  # type: ignore[arg-type]
        ids.append(case_id)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(_expire, [(bounced, start), (bounced, start)])
    with engine.database.connect() as conn:
        expiries = conn.execute(
            sa.select(audit_events.c.case_id, sa.func.count())
            .where(audit_events.c.case_id.in_(ids), audit_events.c.event == "miss_paper_deadline")
            .group_by(audit_events.c.case_id)
        ).all()
    engine.database.dispose()
    per_case = [n for _, n in expiries]
    return {
        "due": count,
        "expired_by_each_process": [len(r) for r in results],
        "cases_expired": len(per_case),
        "max_expiries_per_case": max(per_case, default=0),
        "ok": len(per_case) == count and max(per_case, default=0) == 1 and sum(len(r) for r in results) == count,
    }


# ---- the run -----------------------------------------------------------------------------


def _setup(url: str) -> tuple[list[int], dict[str, str], dict[str, str]]:
    engine = bootstrap(Settings(database_url=url, audit_key=AUDIT_KEY), clock=ManualClock(NOW), migrate=True)
    _, staff = create_token(engine.database, name="bench-staff", role="staff", applicant_code=None, now=NOW)
    _, platform = create_token(engine.database, name="bench-platform", role="platform", applicant_code=None, now=NOW)
    ids = []
    for serial in range(CASES):
        case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
        engine.fire(case.id, "submit", actor=PLATFORM)
        ids.append(case.id)
    engine.database.dispose()
    return ids, {"Authorization": f"Bearer {staff}"}, {"Authorization": f"Bearer {platform}"}


def _resync(url: str, ids: list[int]) -> None:
    engine = bootstrap(Settings(database_url=url, audit_key=AUDIT_KEY), clock=ManualClock(NOW), migrate=False)
    _resynchronise(engine, ids)
    engine.database.dispose()


def _level(
    cluster: PostgresCluster,
    url: str,
    workers: int,
    plan: Plan,
    warm: Plan,
    *,
    prepare: str = "on",
    bouncer_pid: int | None = None,
    pool: str = "5,10",
    log: Path | None = None,
) -> dict[str, Any]:
    database = url.rsplit("/", 1)[1]
    postmaster = postmaster_pid(cluster)
    with api_server(url, workers, prepare=prepare, pool=pool, log=log) as (base, pid):
        _in_child(base, warm, CLIENTS)
        before = (tree_cpu(pid), tree_cpu(postmaster), tree_cpu(bouncer_pid) if bouncer_pid else 0.0)
        busy_before = machine_busy()
        with ConnectionSampler(_dsn(cluster.url()), database) as sampler:
            result = _in_child(base, plan, CLIENTS)
        busy_after = machine_busy()
        after = (tree_cpu(pid), tree_cpu(postmaster), tree_cpu(bouncer_pid) if bouncer_pid else 0.0)
    n = len(plan)
    result["machine_busy"] = round((busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1), 2)
    result["api_cpu_ms"] = round((after[0] - before[0]) * 1000 / n, 2)
    result["postgres_cpu_ms"] = round((after[1] - before[1]) * 1000 / n, 2)
    if bouncer_pid:
        result["pgbouncer_cpu_ms"] = round((after[2] - before[2]) * 1000 / n, 2)
    result["peak_server_connections"] = sampler.peak
    return result


def _bouncer(
    cluster: PostgresCluster, url: str, ids: list[int], plan: Plan, warm: Plan, quick: bool, results: dict[str, Any]
) -> dict[str, Any]:
    """The PgBouncer checks and the 4-process level through it (see the module docstring)."""
    bouncer: dict[str, Any] = {"pool_mode": "transaction", "default_pool_size": BOUNCER_POOL}
    version = subprocess.run([str(pgbouncer_binary()), "--version"], capture_output=True, text=True, check=False)
    bouncer["version"] = version.stdout.splitlines()[0] if version.stdout else "unknown"
    with pgbouncer(cluster, "scale", pool=1) as (single, _):
        bouncer["prepared_statements_one_server_connection"] = check_prepared(single)
    with pgbouncer(cluster, "scale", pool=BOUNCER_POOL) as (bounced, pid):
        bouncer["advisory_xact_lock"] = check_advisory(bounced)
        bouncer["skip_locked_expire_due"] = check_skip_locked(url, bounced, 20 if quick else 100)
        _resync(url, ids)
        bouncer["fire_4_processes_prepare_off"] = _level(
            cluster, bounced, 4, plan, warm, prepare="off", bouncer_pid=pid
        )
        _resync(url, ids)
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "api.log"
            try:
                outcome = _level(cluster, bounced, 4, plan, warm, bouncer_pid=pid, log=log)
            except Exception as exc:  # 5xx replies or dropped connections: the prepared-statement collisions
                outcome = {"failed": f"{type(exc).__name__}: {str(exc)[:300]}"}
            text = log.read_text()
            outcome["server_errors"] = {
                name: text.count(f"psycopg.errors.{name}:")
                for name in ("DuplicatePreparedStatement", "InvalidSqlStatementName")
            }
        bouncer["fire_4_processes_prepare_default"] = outcome
    direct4 = results["levels"]["4"]["fire_event"]["per_s"]
    bouncer["fire_over_direct_4_processes"] = round(bouncer["fire_4_processes_prepare_off"]["per_s"] / direct4, 2)
    return bouncer


def run(quick: bool) -> dict[str, Any]:
    bindir = find_bindir()
    if bindir is None:
        return {"skipped": "no PostgreSQL binaries"}
    requests = 400 if quick else 2000
    cluster = start_cluster(bindir)
    results: dict[str, Any] = {
        "requests_per_level": requests,
        "clients": CLIENTS,
        "note": "throwaway cluster (fsync off); 2 cores shared by PostgreSQL, the API processes and the load generator",
        "levels": {},
    }
    try:
        cluster.execute("CREATE DATABASE scale")
        url = cluster.url("scale")
        ids, staff, platform = _setup(url)
        warm: Plan = [("GET", f"/v1/cases/{ids[i % len(ids)]}", None, staff) for i in range(CASES)]
        plan = _fires(ids, requests, staff, platform)
        for workers in LEVELS:
            with api_server(url, workers, factory="ceiling_app") as (base, _):
                ceiling = _in_child(base, [("GET", "/constant", None, {})] * requests, CLIENTS)
            _resync(url, ids)
            fire = _level(cluster, url, workers, plan, warm)
            results["levels"][str(workers)] = {"ceiling_per_s": ceiling["per_s"], "fire_event": fire}
        _resync(url, ids)  # pool sizing: 4 processes holding 2 connections each, the size PgBouncer gets below
        small = _level(cluster, url, 4, plan, warm, pool="2,0")
        results["levels"]["4, pool 2+0"] = {
            "ceiling_per_s": results["levels"]["4"]["ceiling_per_s"],
            "fire_event": small,
        }
        one = results["levels"]["1"]["fire_event"]["per_s"]
        for level in results["levels"].values():
            level["fire_over_1_process"] = round(level["fire_event"]["per_s"] / one, 2)
            level["fire_over_ceiling"] = round(level["fire_event"]["per_s"] / level["ceiling_per_s"], 2)
        if pgbouncer_binary() is None:
            results["pgbouncer"] = {"skipped": "pgbouncer is not installed (apt-get install pgbouncer)"}
        else:
            results["pgbouncer"] = _bouncer(cluster, url, ids, plan, warm, quick, results)
        results["latency_p50_ms"] = {k: v["fire_event"]["p50_ms"] for k, v in results["levels"].items()}
    finally:
        cluster.stop()
    return results
