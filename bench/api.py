"""HTTP API throughput and latency on SQLite at 1, 16 and 64 concurrent clients from a separate
process: GET a case and fire an event, against a bare FastAPI endpoint returning a constant
(the ceiling), all served by uvicorn on loopback.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.api import create_app
from app.api.auth import create_token
from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.http import serving
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data, sh
from workflow.clock import ManualClock


def _load(
    base: str, plan: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]], clients: int
) -> dict[str, Any]:
    """Run in a child process: send ``plan`` with ``clients`` threads; latency in ms."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    pools = [httpx.Client(base_url=base, timeout=60) for _ in range(clients)]

    def one(index: int) -> None:
        method, path, body, headers = plan[index]
        started = time.perf_counter()
        response = pools[index % clients].request(method, path, json=body, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        codes[response.status_code] = codes.get(response.status_code, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(plan))))
    elapsed = time.perf_counter() - started
    for client in pools:
        client.close()
    latencies.sort()
    return {
        "per_s": round(len(plan) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "codes": codes,
    }


def _in_child(base: str, plan: list[Any], clients: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_load, (base, plan, clients))
    return result


def run(quick: bool) -> dict[str, Any]:
    requests = 300 if quick else 2000
    levels = (1, 16) if quick else (1, 16, 64)
    results: dict[str, Any] = {"requests_per_level": requests, "target_fire_fraction": 0.25, "levels": {}}
    ceiling = FastAPI()

    @ceiling.get("/constant")
    def constant() -> dict[str, int]:
        return {"ok": 1}

    with tempfile.TemporaryDirectory() as tmp:
        engine = bootstrap(
            Settings(database_url=f"sqlite:///{Path(tmp) / 'api.db'}", audit_key="bench"),
            clock=ManualClock(sh("2025-08-20 09:00")),
        )
        now = engine.clock.now()
        _, staff = create_token(engine.database, name="bench-staff", role="staff", applicant_code=None, now=now)
        _, platform = create_token(
            engine.database, name="bench-platform", role="platform", applicant_code=None, now=now
        )
        ids = []
        for serial in range(256):  # enough cases that no two in-flight requests touch the same one
            case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
            engine.fire(case.id, "submit", actor=PLATFORM)
            ids.append(case.id)
        staff_h, platform_h = {"Authorization": f"Bearer {staff}"}, {"Authorization": f"Bearer {platform}"}
        with serving(create_app(engine)) as base, serving(ceiling) as ceiling_base:
            for clients in levels:
                reads = [("GET", f"/v1/cases/{ids[i % len(ids)]}", None, staff_h) for i in range(requests)]
                fires: list[Any] = []
                for i in range(requests):  # each case alternates return / resubmit, one client per case at a time
                    case_id, turn = ids[i % len(ids)], (i // len(ids)) % 2
                    fires.append(
                        (
                            "POST",
                            f"/v1/cases/{case_id}/events",
                            {"event": "return_for_correction", "payload": {"reason": "bench"}},
                            staff_h,
                        )
                        if turn == 0
                        else ("POST", f"/v1/cases/{case_id}/events", {"event": "resubmit"}, platform_h)
                    )
                top = _in_child(ceiling_base, [("GET", "/constant", None, {})] * requests, clients)
                get = _in_child(base, reads, clients)
                fire = _in_child(base, fires, clients)
                results["levels"][str(clients)] = {
                    "ceiling": top,
                    "get_case": get,
                    "fire_event": fire,
                    "get_fraction": round(get["per_s"] / top["per_s"], 2),
                    "fire_fraction": round(fire["per_s"] / top["per_s"], 2),
                }
        engine.database.dispose()
    return results
