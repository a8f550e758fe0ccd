"""``HEAD`` answers as ``GET`` does, without the body (RFC 9110, 9.3.2), over real HTTP."""

from __future__ import annotations

from tests.api.conftest import Api, api_image
from tests.support.longgang import PROGRAM, applicant, complete_data


def _case(api: Api) -> int:
    with api.client("platform") as http:
        opened = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
        assert opened.status_code == 201, opened.text
        return int(opened.json()["id"])


def test_head_on_a_case_gives_the_get_status_and_headers_without_the_body(api: Api) -> None:
    case_id = _case(api)
    with api.client("platform") as http:
        got = http.get(f"/v1/cases/{case_id}")
        head = http.head(f"/v1/cases/{case_id}")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["etag"] == got.headers["etag"] == f'"{got.json()["version"]}"'
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content) > 0
    assert head.headers["x-request-id"], "the access log and request id layers saw it"


def test_head_is_refused_as_get_would_be_and_changes_nothing(api: Api) -> None:
    case_id = _case(api)
    before = api_image(api.engine)
    with api.client(None) as anonymous:
        assert anonymous.head(f"/v1/cases/{case_id}").status_code == 401
    with api.client("other_applicant") as stranger:
        assert stranger.head(f"/v1/cases/{case_id}").status_code == 404, "another applicant's case is not shown"
    with api.client("platform") as http:
        assert http.head("/v1/cases/999999").status_code == 404
        assert http.head("/v1/no-such-path").status_code == 404
        events = http.head(f"/v1/cases/{case_id}/events")  # POST only: no GET for HEAD to stand for
    assert (events.status_code, events.content) == (405, b"")
    assert "POST" in events.headers["allow"]
    assert api_image(api.engine) == before


def test_head_on_health_and_a_list(api: Api) -> None:
    with api.client(None) as anonymous:
        health = anonymous.head("/healthz")
    assert (health.status_code, health.content) == (200, b"")
    with api.client("staff") as http:
        listed = http.head("/v1/cases", params={"limit": 5})
    assert (listed.status_code, listed.content) == (200, b"")
    assert listed.headers["content-type"].startswith("application/json")
