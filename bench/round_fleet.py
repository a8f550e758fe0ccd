"""The fleet of the round simulation: the database, 2 API processes, 2 workers, a dispatcher, SMTP, SMS.

Every FilingFlow process is a real one, started as an operator would (``filingflow serve
--no-worker``, ``filingflow worker``, the dispatcher loop of bench/round_dispatcher.py) on one
sandbox timeline (``FILINGFLOW_SANDBOX=1``, ``FILINGFLOW_CLOCK_START``, ``FILINGFLOW_CLOCK_RATE``).
The SMTP server (aiosmtpd) and the SMS gateway (tests/support/sms_gateway.py) run on loopback
in this process, so what they received can be counted at the end.

The fleet starts once, on a scheduled sandbox timeline (app/sandbox.py) held at the round's first
instant; the pacer (bench/round_pacer.py) then moves every process's clock by appending segments,
and a process restarted after a fault joins the same timeline. Each process's output goes to a
log file in the run's folder, so a traceback behind a 5xx can be read afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from app.sandbox import Segment, TimelineClock, schedule_timeline
from tests.support.postgres import PostgresCluster, find_bindir, free_port, start_cluster
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.clock import SystemClock
from workflow.database import create_database_engine

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))
ROOT = Path(__file__).resolve().parent.parent
AUDIT_KEY = "bench-round-audit-key"
WORKER_INTERVAL = 0.25  # real seconds between a worker's ticks
LEASE_REAL_SECONDS = 5.0  # an outbox lease, in real seconds at the pacer's top rate (longer when slower)


@dataclass
class Process:
    """One supervised FilingFlow process: started, SIGKILLed, restarted, stopped."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self, env: dict[str, str]) -> None:
        sink = self.log.open("ab")
        self.process = subprocess.Popen(self.argv, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        sink.close()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no chance to record what it was doing (the fault)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
            self.kills += 1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)


@dataclass
class Database:
    """PostgreSQL (a throwaway cluster that can be restarted) or a SQLite file."""

    url: str
    cluster: PostgresCluster | None = None
    restarts: int = 0

    @property
    def kind(self) -> str:
        return "postgresql" if self.cluster else "sqlite"

    def stop_server(self) -> None:
        """Stop PostgreSQL at once (``-m immediate``: like a crash; connections are cut)."""
        assert self.cluster is not None
        self.cluster._run("pg_ctl", "-D", str(self.cluster.datadir), "-m", "immediate", "-w", "stop")

    def start_server(self) -> None:
        cluster = self.cluster
        assert cluster is not None
        options = (
            f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB"
        )
        log = str(cluster.root / "server.log")
        cluster._run("pg_ctl", "-D", str(cluster.datadir), "-o", options, "-l", log, "-w", "start")
        self.restarts += 1


def open_database(kind: str, folder: Path) -> Database:
    if kind == "sqlite":
        return Database(url=f"sqlite:///{folder / 'round.db'}")
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries (set FILINGFLOW_PG_BINDIR or use --database sqlite)")
    cluster = start_cluster(bindir)
    cluster.execute("CREATE DATABASE round")
    return Database(url=cluster.url("round"), cluster=cluster)


@dataclass
class Fleet:
    folder: Path
    database: Database
    smtp: SmtpServer = field(default_factory=lambda: SmtpServer(parse=False))
    sms: SmsProvider = field(default_factory=SmsProvider)
    api_ports: list[int] = field(default_factory=list)
    processes: dict[str, Process] = field(default_factory=dict)
    clock_start: datetime | None = None
    top_rate: float = 40_000.0  # the pacer's (bench/round_pacer.py): outbox leases are sized for it

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "FILINGFLOW_DATABASE_URL": self.database.url,
            "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
            "FILINGFLOW_SESSION_KEY": "bench-round-session-key",
            "FILINGFLOW_CSRF_KEY": "bench-round-csrf-key",
            "FILINGFLOW_VAR_DIR": str(self.folder / "var"),
            "FILINGFLOW_SANDBOX": "1",
            "FILINGFLOW_WORKER_INTERVAL": str(WORKER_INTERVAL),
            "FILINGFLOW_SMTP_HOST": "127.0.0.1",
            "FILINGFLOW_SMTP_PORT": str(self.smtp.port),
            "FILINGFLOW_SMS_GATEWAY_URL": self.sms.url,
            "FILINGFLOW_SMS_GATEWAY_SECRET": SECRET,
            # the engine's clock runs up to top_rate times as fast: leases and retries are counted on it
            "FILINGFLOW_OUTBOX_MAX_ATTEMPTS": "1000000",
            "FILINGFLOW_OUTBOX_LEASE_SECONDS": f"{LEASE_REAL_SECONDS * self.top_rate:.0f}",
            "FILINGFLOW_LOG_FORMAT": "text",
        }
        if self.clock_start is not None:  # the epoch of the scheduled timeline: every process joins and follows it
            env["FILINGFLOW_CLOCK_START"] = self.clock_start.isoformat()
        return env

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FILINGFLOW, *args], env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )

    def prepare(self) -> tuple[str, str]:
        """Schema, SMTP and SMS up, the process definitions; returns the staff and platform tokens."""
        (self.folder / "var").mkdir(parents=True, exist_ok=True)
        self.smtp.start()
        self.sms.start()
        if self.database.kind == "postgresql":
            upgraded = self.cli("db", "upgrade")
            if upgraded.returncode:
                raise RuntimeError(f"db upgrade failed: {upgraded.stderr}")
        tokens = []
        for role in ("staff", "platform"):
            made = self.cli("tokens", "create", "--role", role, "--name", f"round-{role}")
            if made.returncode:
                raise RuntimeError(f"tokens create failed: {made.stderr}")
            tokens.append(made.stdout.strip())
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        self.api_ports = [free_port(), free_port()]
        for n, port in enumerate(self.api_ports, 1):
            argv = [FILINGFLOW, "serve", "--port", str(port), "--no-worker"]
            self.processes[f"api{n}"] = Process(f"api{n}", argv, logs / f"api{n}.log")
        for n in (1, 2):
            self.processes[f"worker{n}"] = Process(f"worker{n}", [FILINGFLOW, "worker"], logs / f"worker{n}.log")
        dispatcher = [sys.executable, "-m", "bench.round_dispatcher"]
        self.processes["dispatcher"] = Process("dispatcher", dispatcher, logs / "dispatcher.log")
        return tokens[0], tokens[1]

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    def start(self, clock_start: datetime) -> TimelineClock:
        """Record a timeline held at ``clock_start`` and start every process on it; returns the bench's clock."""
        database = create_database_engine(self.database.url)
        try:
            clock = schedule_timeline(database, Segment(clock_start, SystemClock().now(), 1.0, clock_start))
        finally:
            database.dispose()
        self.clock_start = clock_start
        env = self.env()
        for process in self.processes.values():
            process.start(env)
        self.wait_healthy()
        return clock

    def wait_healthy(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        for base in self.bases:
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{base} did not become healthy; see {self.folder / 'logs'}")
                time.sleep(0.2)

    def restart(self, name: str) -> None:
        self.processes[name].start(self.env())

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()

    def close(self) -> None:
        self.stop_all()
        self.smtp.stop()
        self.sms.stop()
        if self.database.cluster is not None:
            try:
                self.database.cluster.stop()
            except subprocess.CalledProcessError:  # already stopped by a fault that failed half-way
                shutil.rmtree(self.database.cluster.root, ignore_errors=True)
