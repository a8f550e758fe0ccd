"""A real HTTP server for the API under test: uvicorn in a thread, or ``filingflow serve`` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.postgres import free_port

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def first_health(server: subprocess.Popen[str], base: str, *, seconds: float = 60) -> httpx.Response:
    """The first ``/healthz`` answer of a ``filingflow serve`` process started by a test (it must stay up)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(f"{base}/healthz", timeout=2)
        except httpx.HTTPError:
            assert server.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)


@dataclass
class Served:
    """A ``filingflow serve`` process started by a test: its URL, its first health answer, and (once it
    has ended) everything it printed."""

    base: str
    health: httpx.Response
    output: str = ""


def process_env(database_url: str, var_dir: Path, audit_key: str, **settings: str) -> dict[str, str]:
    """The environment of a FilingFlow process a test starts: this one's, the database, the secrets
    ``serve`` refuses to start without, a var folder, and ``settings`` as ``FILINGFLOW_{NAME}``."""
    return {
        **os.environ,
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": audit_key,
        "FILINGFLOW_SESSION_KEY": "test-process-session-secret",
        "FILINGFLOW_CSRF_KEY": "test-process-csrf-secret",
        "FILINGFLOW_VAR_DIR": str(var_dir),
        **{f"FILINGFLOW_{name.upper()}": value for name, value in settings.items()},
    }


@contextmanager
def serve_process(env: dict[str, str]) -> Iterator[Served]:
    """Run ``filingflow serve --no-worker`` with ``env`` on a free port until the block ends."""
    port = free_port()
    server = subprocess.Popen(
        [FILINGFLOW, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served: Served | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        served = Served(base, first_health(server, base))
        yield served
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
        if served is not None:
            served.output = output
