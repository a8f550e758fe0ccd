"""``/metrics`` is closed by default: a ``metrics`` (or ``admin``) bearer token reads it, nobody else.

A ``metrics`` token is a scraper's: it reads ``/metrics`` and is refused (403) by every route
of the API and by the console's sign-in, so a leaked scraper credential opens no case.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.api.auth import revoke_token
from tests.api.conftest import Api
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.clock import ManualClock

PROBLEM = "application/problem+json"


def _metrics(api: Api, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}".encode()} if token is not None else {}
    return httpx.get(f"{api.base}/metrics", headers=headers, timeout=30)


def test_metrics_refuses_no_token_an_unknown_one_and_every_role_but_metrics_and_admin(api: Api) -> None:
    for token in (None, "ff_not-a-token", "令牌", "x"):
        refused = _metrics(api, token)
        assert (refused.status_code, refused.headers["content-type"]) == (401, PROBLEM), token
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "filingflow_" not in refused.text
    for role in ("platform", "staff", "applicant"):
        refused = _metrics(api, api.tokens[role])
        assert (refused.status_code, refused.json()["field"]) == (403, "role"), role
        assert "filingflow_" not in refused.text
    for role in ("metrics", "admin"):
        allowed = _metrics(api, api.tokens[role])
        assert allowed.status_code == 200, role
        assert allowed.headers["content-type"].startswith("text/plain")
        names = {family.name for family in text_string_to_metric_families(allowed.text)}
        assert {"filingflow_commands", "filingflow_outbox_notices", "filingflow_deadline_sweep_lag_seconds"} <= names


def test_a_revoked_metrics_token_stops_reading_within_the_cache_interval(api: Api, clock: ManualClock) -> None:
    assert _metrics(api, api.tokens["metrics"]).status_code == 200
    revoke_token(api.engine.database, name="metrics-token", now=clock.now())
    clock.advance(timedelta(seconds=3))  # past the token cache's 2 s
    assert _metrics(api, api.tokens["metrics"]).status_code == 401


def test_a_metrics_token_opens_no_route_of_the_api(api: Api) -> None:
    with api.client("platform") as http:
        case = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
        assert case.status_code == 201
    values = {"case_id": "1", "deadline_id": "1", "notice_id": "1", "entry_id": "1", "webhook_id": "1", "key": PROGRAM}
    with api.client(None) as http:
        spec = http.get("/openapi.json").json()
    tried = 0
    with api.client("metrics") as http:
        for path, item in spec["paths"].items():
            if path == "/healthz":
                continue  # open to anyone by design
            for method in item:
                url = path.format(**values)
                response = http.request(method.upper(), url, json={} if method in ("post", "put") else None)
                assert (response.status_code, response.json()["field"]) == (403, "role"), (method, path)
                tried += 1
    assert tried >= 20
    with api.client("platform") as http:
        assert http.get("/v1/cases/1").json()["version"] == 1  # nothing the metrics token sent changed the case
