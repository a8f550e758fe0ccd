"""/metrics after a scripted run: every figure equals what the database says (issue 15, item 5)."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from scheduler.jobs import heartbeat
from tests.api.conftest import Api
from tests.support.longgang import PROGRAM, applicant, awaiting_paper, complete_data, sh, submitted
from workflow.clock import ManualClock
from workflow.tables import audit_events, deadlines, notices


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{api.base}/metrics", headers={"Authorization": f"Bearer {api.tokens['metrics']}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_after_a_scripted_run_equal_the_database(api: Api, clock: ManualClock) -> None:
    # LG-FLOW-1 and LG-DL-1 drive the run; LG-WIN-1 refuses a late submission (counted as refused)
    engine = api.engine
    first = submitted(engine, 1)
    submitted(engine, 2)
    with api.client("platform") as http:
        opened = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(3), "data": complete_data()})
        assert opened.status_code == 201
        again = http.post(f"/v1/cases/{first}/events", json={"event": "submit"})
        assert again.status_code == 409  # already submitted: refused, counted, nothing written
    awaiting_paper(engine, clock, "2026-12-28 10:00", serial=4)  # paper deadline reaches into 2027: estimated
    clock.set(sh("2026-12-29 09:00"))
    heartbeat(engine, "worker-a")
    clock.advance(timedelta(seconds=90))
    heartbeat(engine, "worker-b")
    with engine.database.begin() as conn:  # a notice the dispatcher gave up on
        dead_id = conn.execute(sa.select(sa.func.min(notices.c.id)).where(notices.c.channel == "sms")).scalar_one()
        conn.execute(notices.update().where(notices.c.id == dead_id).values(status="dead"))
    clock.advance(timedelta(minutes=10))
    now = clock.now()

    metrics = scrape(api)

    with engine.database.connect() as conn:
        depth = conn.execute(
            sa.select(notices.c.status, notices.c.channel, sa.func.count()).group_by(
                notices.c.status, notices.c.channel
            )
        ).all()
        oldest_pending = conn.execute(
            sa.select(sa.func.min(notices.c.created_at)).where(notices.c.status == "pending")
        ).scalar_one()
        oldest_due = conn.execute(
            sa.select(sa.func.min(deadlines.c.due_at)).where(deadlines.c.status == "pending", deadlines.c.due_at <= now)
        ).scalar_one()
        estimated = conn.execute(
            sa.select(deadlines.c.due_at).where(deadlines.c.status == "pending", deadlines.c.estimated.is_(True))
        ).all()
        done = conn.execute(
            sa.select(audit_events.c.kind, audit_events.c.event, sa.func.count())
            .where(audit_events.c.kind.in_(("open", "transition")))
            .group_by(audit_events.c.kind, audit_events.c.event)
        ).all()

    for status, channel, count in depth:
        assert metrics[("filingflow_outbox_notices", (("channel", channel), ("status", status)))] == count
    assert sum(v for (name, _), v in metrics.items() if name == "filingflow_outbox_notices") == sum(
        c for *_, c in depth
    )
    assert metrics[("filingflow_dead_notices", ())] == 1
    assert metrics[("filingflow_outbox_oldest_pending_age_seconds", ())] == (now - oldest_pending).total_seconds()
    assert oldest_due is not None  # the window of case 3's draft closed in 2025 and no sweep ran
    assert metrics[("filingflow_deadline_sweep_lag_seconds", ())] == (now - oldest_due).total_seconds()
    assert metrics[("filingflow_worker_heartbeat_age_seconds", (("worker", "worker-a"),))] == 690.0
    assert metrics[("filingflow_worker_heartbeat_age_seconds", (("worker", "worker-b"),))] == 600.0
    assert [due.year for (due,) in estimated] == [2027]
    assert metrics[("filingflow_estimated_deadlines", (("year", "2027"),))] == 1

    counted = {
        (dict(labels)["command"], dict(labels)["event"]): value
        for (name, labels), value in metrics.items()
        if name == "filingflow_commands_total" and dict(labels)["outcome"] == "ok"
    }
    expected = {("open_case" if kind == "open" else "fire", event or "open"): n for kind, event, n in done}
    assert counted == expected
    assert (
        metrics[
            (
                "filingflow_commands_total",
                (("command", "fire"), ("event", "submit"), ("outcome", "refused"), ("program", PROGRAM)),
            )
        ]
        == 1
    )
    commands = sum(expected.values()) + 1
    assert sum(v for (name, _), v in metrics.items() if name == "filingflow_command_seconds_count") == commands
    assert metrics[("filingflow_command_seconds_count", (("command", "open_case"),))] == 4


def test_a_request_id_is_taken_or_made_returned_logged_and_audited(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="filingflow.access")
    with api.client("platform", **{"X-Request-ID": "portal-7f3a"}) as http:
        opened = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
        assert opened.headers["X-Request-ID"] == "portal-7f3a"
        case_id = opened.json()["id"]
        made = http.post(
            f"/v1/cases/{case_id}/events", json={"event": "submit"}, headers={"X-Request-ID": "bad id\x7f"}
        )
        assert made.status_code == 200
        fresh = made.headers["X-Request-ID"]
        assert len(fresh) == 32
        assert fresh != "portal-7f3a"
        trail = http.get(f"/v1/cases/{case_id}/audit").json()
    assert [event["new_values"].get("request_id") for event in trail] == ["portal-7f3a", fresh]
    unauthenticated = httpx.get(f"{api.base}/v1/cases/{case_id}")
    assert unauthenticated.status_code == 401
    assert len(unauthenticated.headers["X-Request-ID"]) == 32
    lines = [vars(r) for r in caplog.records if r.name == "filingflow.access"]
    assert next((r["method"], r["status"], r["request_id"]) for r in lines if r["path"] == "/v1/cases") == (
        "POST",
        201,
        "portal-7f3a",
    )
