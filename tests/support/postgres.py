"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port.

Sessions and CI run as root here and ``initdb`` refuses root, so the cluster runs as the
``postgres`` system user the PostgreSQL packages create (data directory owned by it);
as any other user it runs as that user. Durability is switched off (fsync, synchronous
commit): the cluster is deleted at the end anyway.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

SEARCH = ("/usr/lib/postgresql/*/bin",)
SUPERUSER = "filingflow"


def find_bindir() -> Path | None:
    """The newest PostgreSQL bin directory with initdb, or ``None``."""
    explicit = os.environ.get("FILINGFLOW_PG_BINDIR")
    if explicit:
        return Path(explicit) if (Path(explicit) / "initdb").exists() else None
    candidates = sorted(Path("/").glob(SEARCH[0].lstrip("/")), key=lambda p: int(p.parent.name), reverse=True)
    found = next((c for c in candidates if (c / "initdb").exists()), None)
    if found is None and shutil.which("initdb"):
        return Path(shutil.which("initdb") or "").parent
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C")
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=128MB",
            ]
        )
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, sql: str) -> None:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()


def start_cluster(bindir: Path) -> PostgresCluster:
    run_as = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="filingflow-pg-"))
    if run_as:
        user = pwd.getpwnam(run_as)
        os.chown(root, user.pw_uid, user.pw_gid)
    root.chmod(0o755)
    cluster = PostgresCluster(bindir=bindir, root=root, port=free_port(), run_as=run_as)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
