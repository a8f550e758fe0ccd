"""A real HTTP server for the API under test: uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from tests.support.postgres import free_port


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
