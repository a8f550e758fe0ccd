"""One sandbox timeline for every process (issue 15, item 7): serve --no-worker, a worker, a dispatcher.

Each process used to start its sandbox clock anew at FILINGFLOW_CLOCK_START, so a dispatcher
started after the API lived earlier than the notices the API had queued ("0 claimed"), and a
worker's heartbeat came before changes made a real minute earlier.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.conftest import AUDIT_KEY
from tests.support.http import FILINGFLOW, process_env, serve_process
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.database import create_database_engine
from workflow.tables import audit_events, notices, worker_heartbeats

START = "2025-08-20T09:00:00+08:00"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FILINGFLOW, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_api_worker_and_dispatcher_share_one_sandbox_timeline(database_url: str, tmp_path: Path) -> None:
    # LG-WIN-1 decides on the shared clock: the submission lands inside the 2025 window
    env = process_env(database_url, tmp_path / "var", AUDIT_KEY, sandbox="1", clock_start=START)
    created = cli(env, "tokens", "create", "--role", "platform", "--name", "portal")  # the first start: epoch
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    time.sleep(2)  # every later process starts later in real time
    with serve_process(env) as served:
        base = served.base
        api_now = datetime.fromisoformat(served.health.json()["now"])
        assert (api_now - datetime.fromisoformat(START)).total_seconds() >= 2, "serve joined the timeline begun earlier"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            case = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
            assert case.status_code == 201, case.text
            fired = http.post(f"/v1/cases/{case.json()['id']}/events", json={"event": "submit"})
            assert fired.status_code == 200, fired.text
        time.sleep(1)
        dispatched = cli(env, "notifications", "dispatch")
        assert dispatched.returncode == 0, dispatched.stderr
        assert "dispatch: 3 claimed, 3 sent" in dispatched.stdout, dispatched.stdout + dispatched.stderr
        time.sleep(1)
        ticked = cli(env, "worker", "--once")
        assert ticked.returncode == 0, ticked.stderr
        age = httpx.get(f"{base}/healthz", timeout=5).json()["worker_heartbeat_age_seconds"]
        assert 0 <= age < 30, age
    database = create_database_engine(database_url)
    try:
        with database.connect() as conn:
            submitted_at = conn.execute(sa.select(sa.func.max(audit_events.c.at))).scalar_one()
            sent = conn.execute(sa.select(notices.c.created_at, notices.c.sent_at)).all()
            beat = conn.execute(sa.select(sa.func.max(worker_heartbeats.c.beat_at))).scalar_one()
    finally:
        database.dispose()
    assert all(sent_at is not None and sent_at >= created_at for created_at, sent_at in sent)
    assert beat > max(sent_at for _, sent_at in sent) > submitted_at  # one timeline, in real order
    moved = cli({**env, "FILINGFLOW_CLOCK_START": "2025-09-01T09:00:00+08:00"}, "worker", "--once")
    assert moved.returncode == 0, moved.stderr
    assert "starts a new timeline on this database (it was 2025-08-20T09:00:00+08:00" in moved.stderr
    database = create_database_engine(database_url)
    try:
        with database.connect() as conn:
            beats = conn.execute(sa.select(worker_heartbeats.c.beat_at).order_by(worker_heartbeats.c.beat_at)).all()
    finally:
        database.dispose()
    assert beats[-1][0] >= datetime.fromisoformat("2025-09-01T09:00:00+08:00"), "a deliberate new timeline"
