"""HTTP API throughput and latency on SQLite at 1, 16 and 64 concurrent clients from a separate
process: GET a case and fire an event, against a bare FastAPI endpoint returning a constant
(the ceiling), all served by uvicorn on loopback.

Every reply must be 2xx: a run with any other status is an error, not a figure. Before each
level the cases are brought back to online review, so each fire finds its event allowed; each
client thread sends its share of the plan in order, and a case always falls to the same thread
(the number of cases is a multiple of every level's clients), so its fires never overtake.
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
from workflow.engine import Engine

Plan = list[tuple[str, str, dict[str, Any] | None, dict[str, str]]]


def _load(base: str, plan: Plan, clients: int) -> dict[str, Any]:
    """Run in a child process: ``clients`` threads, thread ``t`` sending ``plan[t::clients]`` in order on
    its own connection (so requests for one case never overtake each other); latency in ms."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    refusals: list[str] = []

    def client(first: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for method, path, body, headers in plan[first::clients]:
                started = time.perf_counter()
                response = http.request(method, path, json=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
                if not response.is_success and len(refusals) < 3:
                    refusals.append(f"{method} {path}: {response.status_code} {response.text[:300]}")

    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()
    return {
        "per_s": round(len(plan) / elapsed, 1),
        "client_cpu_ms": round(cpu * 1000 / len(plan), 2),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "codes": codes,
        "refusals": refusals,
    }


def _in_child(base: str, plan: Plan, clients: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(_load, (base, plan, clients))
    refusals = result.pop("refusals")
    bad = {code: n for code, n in result["codes"].items() if not 200 <= code < 300}
    if bad:
        raise RuntimeError(f"{bad} of {len(plan)} replies were not 2xx, e.g. {refusals}")
    return result


def _resynchronise(engine: Engine, ids: list[int]) -> None:
    """Bring every case back to online review (a level may end with some returned for correction)."""
    for case_id in ids:
        if engine.get_case(case_id).state == "returned":
            engine.fire(case_id, "resubmit", actor=PLATFORM)


def _fires(ids: list[int], requests: int, staff: dict[str, str], platform: dict[str, str]) -> Plan:
    plan: Plan = []
    for i in range(requests):  # each case alternates return / resubmit, one client per case at a time
        case_id, turn = ids[i % len(ids)], (i // len(ids)) % 2
        if turn == 0:
            body = {"event": "return_for_correction", "payload": {"reason": "bench"}}
            plan.append(("POST", f"/v1/cases/{case_id}/events", body, staff))
        else:
            plan.append(("POST", f"/v1/cases/{case_id}/events", {"event": "resubmit"}, platform))
    return plan


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
                assert len(ids) % clients == 0, "each case must fall to one client thread"
                reads: Plan = [("GET", f"/v1/cases/{ids[i % len(ids)]}", None, staff_h) for i in range(requests)]
                top = _in_child(ceiling_base, [("GET", "/constant", None, {})] * requests, clients)
                get = _in_child(base, reads, clients)
                _resynchronise(engine, ids)
                fire = _in_child(base, _fires(ids, requests, staff_h, platform_h), clients)
                results["levels"][str(clients)] = {
                    "ceiling": top,
                    "get_case": get,
                    "fire_event": fire,
                    "get_fraction": round(get["per_s"] / top["per_s"], 2),
                    "fire_fraction": round(fire["per_s"] / top["per_s"], 2),
                }
        engine.database.dispose()
    return results
