"""Strict query and path parameters, a complete Allow header, 404 for a missing program (issue 13 item 8)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/v1/cases", "GET, HEAD, POST"), ("/v1/webhooks", "GET, HEAD, POST"), ("/v1/cases/1", "GET, HEAD")],
)
def test_a_405_lists_every_method_of_its_path(api: Api, path: str, allowed: str) -> None:
    with api.client("admin") as http:
        for method in ("OPTIONS", "PUT", "PATCH"):
            refused = http.request(method, path)
            assert (refused.status_code, refused.headers["content-type"]) == (405, PROBLEM), (method, path)
            assert refused.headers["allow"] == allowed, (method, path)


@pytest.mark.parametrize("value", ["0.5", "1700000000", "-1", "２０２５-09-01T00:00:00Z", "2025-09-01", "now"])
def test_due_before_takes_rfc_3339_only(api: Api, value: str) -> None:
    with api.client("staff") as http:
        refused = http.get("/v1/cases", params={"due_before": value})
        assert (refused.status_code, refused.json()["field"]) == (422, "due_before"), value


def test_an_unknown_program_in_a_path_is_404(api: Api) -> None:
    with api.client("staff") as http:
        read = http.get("/v1/programs/no-such-program")
        batch = http.post("/v1/programs/no-such-program/batches", json={"event": "accept", "count": 1})
    for response in (read, batch):
        assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM), response.text
        assert response.json()["field"] == "key"


def test_a_program_lists_the_payload_each_event_takes(api: Api) -> None:
    # LG-DL-1: approve_on_portal takes portal_notified_at; the API documents it from the definition
    with api.client("staff") as http:
        events = {e["name"]: e for e in http.get("/v1/programs/longgang-ai-compute-2025").json()["events"]}
    fields = {f["name"]: f for f in events["approve_on_portal"]["payload"]}
    assert fields["portal_notified_at"]["kind"] == "instant"
    assert fields["portal_notified_at"]["not_future"] is True
    assert [f["name"] for f in events["receive_paper"]["payload"]] == ["service_window"]
    window = events["receive_paper"]["payload"][0]  # LG-FLOW-5: a form offers the round's service windows
    assert (window["label_zh"], window["choices"]) == ("受理窗口", "service_windows")
    assert events["withdraw"]["payload"] == []
