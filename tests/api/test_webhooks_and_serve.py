"""Webhooks (signed deliveries of changes a backend did not cause) and a real `filingflow serve`."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.sms import signature
from tests.api.conftest import Api, api_image
from tests.conftest import AUDIT_KEY
from tests.support.http import FILINGFLOW, process_env, serve_process
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.writes import CHANGE_KINDS, ENGINE_EVENTS

SECRET = "webhook-secret-0123456789"


class Receiver:
    """A backend's webhook endpoint on loopback that checks the signature of what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                good = self.headers["X-FilingFlow-Signature"] == signature(
                    SECRET, self.headers["X-FilingFlow-Timestamp"], body
                )
                receiver.received.append({"valid": good, "body": json.loads(body)})
                self.send_response(204 if good else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_staff_override_reaches_a_subscribed_backend_signed(api: Api, settings: Settings, tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        with api.client("platform") as platform:
            refused = platform.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET})
            assert refused.status_code == 403, "only admin manages subscriptions"
        with api.client("admin") as admin:
            sub = admin.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET, "events": ["override"]})
            assert sub.status_code == 201, sub.text
            assert "secret" not in sub.json()
        with api.client("platform") as platform:
            case = platform.post(
                "/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()}
            ).json()
        with api.client("staff") as staff:
            done = staff.post(
                f"/v1/cases/{case['id']}/override",
                headers={"If-Match": '"1"'},
                json={"target_state": "online_review", "reason": "线下已受理"},
            )
            assert done.status_code == 200
        from dataclasses import replace

        report = build_dispatcher(replace(settings, var_dir=str(tmp_path)), api.engine).dispatch_all()
        assert report.dead == 0, report.errors
        assert len(receiver.received) == 1, "only the override matched the subscription's filter"
        (delivery,) = receiver.received
        assert delivery["valid"] is True
        body = delivery["body"]
        assert (body["type"], body["case_id"], body["change"], body["to_state"]) == (
            "case.changed",
            case["id"],
            "override",
            "online_review",
        )
        assert (body["actor"]["name"], body["reason"]) == ("staff-token", "线下已受理")
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_real_serve_process_with_a_sandbox_clock(database_url: str, tmp_path: Path) -> None:
    env = process_env(database_url, tmp_path / "var", AUDIT_KEY)
    token = subprocess.run(
        [FILINGFLOW, "tokens", "create", "--role", "platform", "--name", "portal"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    refused = subprocess.run(
        [FILINGFLOW, "serve"],
        env={**env, "FILINGFLOW_CLOCK_START": "2025-08-20T09:00:00+08:00"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "FILINGFLOW_SANDBOX" in refused.stderr
    with serve_process(
        {**env, "FILINGFLOW_SANDBOX": "1", "FILINGFLOW_CLOCK_START": "2025-08-20T09:00:00+08:00"}
    ) as served:
        base, health = served.base, served.health
        assert health.json()["sandbox"] == {"clock_start": "2025-08-20T09:00:00+08:00"}
        assert health.headers["X-FilingFlow-Sandbox"].startswith("clock-start=2025-08-20")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
            case = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
            assert case.status_code == 201, case.text
            fired = http.post(f"/v1/cases/{case.json()['id']}/events", json={"event": "submit"})
            assert fired.status_code == 200, "the sandbox clock is inside the 2025 window (LG-WIN-1)"
    assert "SANDBOX" in served.output


def test_subscription_filters_name_known_events_only(api: Api) -> None:
    before = api_image(api.engine)
    with api.client("admin") as admin:
        for events, field in (
            (["override", "x" * 61], "events.1"),
            (["submit", "no_such_event"], "events.1"),
            ([""], "events.0"),
            (["override"] * 51, "events"),
        ):
            refused = admin.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": events}
            )
            assert refused.status_code == 422, (events, refused.text)
            assert refused.json()["field"] == field, refused.json()
        assert api_image(api.engine) == before
        # every kind and event a real change records is a name a filter may hold
        with api.client("platform") as platform:
            case = platform.post(
                "/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()}
            ).json()
            platform.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
        with api.client("staff") as staff:
            staff.post(
                f"/v1/cases/{case['id']}/override",
                json={"target_state": "awaiting_paper", "reason": "补录"},
                headers={"If-Match": '"2"'},
            )
            deadline = staff.get(f"/v1/cases/{case['id']}").json()["deadlines"][0]["id"]
            staff.post(
                f"/v1/cases/{case['id']}/deadlines/{deadline}/suspend",
                json={"reason": "等待"},
                headers={"If-Match": '"3"'},
            )
            audit = staff.get(f"/v1/cases/{case['id']}/audit").json()
        recorded = sorted({entry["kind"] for entry in audit} | {entry["event"] for entry in audit if entry["event"]})
        assert {"open", "transition", "override", "deadline", "submit", "deadline.suspend"} <= set(recorded)
        every_program_event = sorted({e["name"] for p in admin.get("/v1/programs").json() for e in p["events"]})
        accepted = admin.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": recorded + every_program_event[:20]},
        )
        assert accepted.status_code == 201, accepted.text
        engine_names = admin.post(  # every kind and engine event the trail can hold, not just those seen above
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": [*CHANGE_KINDS, *ENGINE_EVENTS]},
        )
        assert engine_names.status_code == 201, engine_names.text
