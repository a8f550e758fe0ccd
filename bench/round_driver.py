"""The round's load driver: timed actions on the sandbox clock, sent over HTTP to the two API processes.

Actions wait in a queue ordered by sandbox time and run, once the shared clock reaches their
time, on a pool of client threads; the actions of one case run in order: an action whose case
has one still running waits in that case's chain (not on a pool thread) and is started by the
one before it when that ends, so every pool thread is always sending. Each thread keeps one
keep-alive connection per API process; requests alternate between them. How fast the clock
moves is the pacer's business (bench/round_pacer.py): it reads :attr:`Driver.outstanding`. A POST carries an
``Idempotency-Key``: when the answer is a 503 or the connection fails (PostgreSQL restarting,
an API process between two lives), the same request is sent again, and the API replays or
performs it once. Every attempt is recorded (real and sandbox time, status, latency), for the
invariant "no 5xx except 503s inside the outage" and the latency figures.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from workflow.clock import Clock

RETRY_FOR = 120.0  # real seconds a request is retried through 503s and refused connections


@dataclass(frozen=True, slots=True)
class Call:
    real: float  # time.monotonic()
    at: datetime  # sandbox time when it was sent
    phase: str
    label: str  # e.g. "lg submit"
    status: int  # 0: no answer (connection refused or reset)
    ms: float


@dataclass(order=True)
class _Timed:
    at: datetime
    seq: int
    key: str = field(compare=False)
    action: Callable[[], object] = field(compare=False)
    hold: bool = field(default=False, compare=False)


class Driver:
    def __init__(self, bases: list[str], tokens: dict[str, str], threads: int = 16) -> None:
        self.bases = bases
        self.tokens = tokens
        self.calls: list[Call] = []
        self.errors: list[str] = []  # actions that raised: a bug of the simulation, reported loudly
        self.phase = ""
        self.clock: Clock | None = None
        self._queue: list[_Timed] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._running: set[str] = set()  # keys with an action on a pool thread
        self._chains: dict[str, deque[_Timed]] = {}  # actions waiting for the one before them, by key
        self._outstanding = 0
        self.completed = 0  # actions finished, for the pacer's measure of what the fleet sustains
        self.holding = 0  # ``hold`` actions started and not finished: the pacer lets the clock stand meanwhile
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="round-client")
        self._local = threading.local()
        self._turn = itertools.count()
        self._clients: list[httpx.Client] = []

    # ---- scheduling --------------------------------------------------------------------

    def at(self, when: datetime, key: str, action: Callable[[], object], *, hold: bool = False) -> None:
        """Run ``action`` once the sandbox clock reaches ``when``, after the earlier actions of ``key``.

        ``hold``: the clock waits while it runs (a staff batch: an import of a thousand rows takes
        an operator minutes, not the days a fast clock would let pass under it)."""
        with self._lock:
            heapq.heappush(self._queue, _Timed(when, next(self._seq), key, action, hold))

    def now(self) -> datetime:
        assert self.clock is not None
        return self.clock.now()

    def run_until(self, end: datetime, *, pacer: Callable[[datetime], None] | None = None) -> None:
        """Start every action due up to ``end`` when its time comes (``pacer(end)`` moving the clock on), and
        return once the clock has reached ``end`` and those actions, and what they scheduled up to it, are done."""
        while True:
            now = self.now()
            with self._lock:
                due = []
                while self._queue and self._queue[0].at <= min(now, end):
                    due.append(heapq.heappop(self._queue))
                waiting = bool(self._queue) and self._queue[0].at <= end
            for item in due:
                self._start(item)
            if now >= end and not waiting and not due and self.outstanding == 0:
                return
            if pacer is not None:
                pacer(end)
            time.sleep(0.01)

    @property
    def outstanding(self) -> int:
        """Actions started and not finished, with those waiting behind them in their case's chain."""
        return self._outstanding

    def next_at(self, after: datetime, count: int = 1) -> list[datetime]:
        """The sandbox times of the next ``count`` queued actions at or after ``after`` (sorted)."""
        with self._lock:
            return sorted(item.at for item in heapq.nsmallest(count, self._queue) if item.at >= after)

    def _start(self, item: _Timed) -> None:
        with self._lock:
            self._outstanding += 1
            self.holding += item.hold
            if item.key in self._running:  # the case's action before it is still running: it follows that one
                self._chains.setdefault(item.key, deque()).append(item)
                return
            self._running.add(item.key)
        self._pool.submit(self._run, item)

    def _run(self, item: _Timed) -> None:
        try:
            item.action()
        except Exception as exc:
            self.errors.append(f"{item.key} at {item.at.isoformat()}: {type(exc).__name__}: {exc}")
        with self._lock:
            self._outstanding -= 1
            self.holding -= item.hold
            self.completed += 1
            chain = self._chains.get(item.key)
            following = chain.popleft() if chain else None
            if chain is not None and not chain:
                del self._chains[item.key]
            if following is None:
                self._running.discard(item.key)
        if following is not None:
            self._pool.submit(self._run, following)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for client in self._clients:
            client.close()

    # ---- HTTP --------------------------------------------------------------------------

    def _client(self, base: str) -> httpx.Client:
        clients: dict[str, httpx.Client] = getattr(self._local, "clients", {})
        self._local.clients = clients
        if base not in clients:
            clients[base] = httpx.Client(base_url=base, timeout=30)
            with self._lock:
                self._clients.append(clients[base])
        return clients[base]

    def request(self, method: str, path: str, role: str, label: str, body: Any = None) -> httpx.Response | None:
        """Send one request, retried with its Idempotency-Key through 503s and lost connections."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        give_up = time.monotonic() + RETRY_FOR
        while True:
            base = self.bases[next(self._turn) % len(self.bases)]
            started = time.monotonic()
            at = self.now()
            try:
                response: httpx.Response | None = self._client(base).request(method, path, json=body, headers=headers)
            except httpx.HTTPError:
                response = None
            ms = (time.monotonic() - started) * 1000
            status = response.status_code if response is not None else 0
            with self._lock:
                self.calls.append(Call(started, at, self.phase, label, status, ms))
            # 409 "in flight": the first attempt is still running in the other process: ask again
            in_flight = status == 409 and response is not None and "in flight" in response.text
            if (status in (0, 503) or in_flight) and time.monotonic() < give_up:
                time.sleep(0.2)
                continue
            return response

    def state(self, case_id: int) -> str | None:
        response = self.request("GET", f"/v1/cases/{case_id}", "staff", "get")
        if response is not None and response.status_code == 200:
            return str(response.json()["state"])
        return None


def later(when: datetime, **delta: float) -> datetime:
    return when + timedelta(**delta)
