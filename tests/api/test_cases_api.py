"""The case resources over real HTTP: status codes, problem bodies, ETags, authorisation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from app.api.auth import CACHE_SECONDS, revoke_token
from tests.api.conftest import Api
from tests.support.invariants import database_image
from tests.support.longgang import PROGRAM, applicant, complete_data, sh
from workflow.clock import ManualClock

PROBLEM = "application/problem+json"


def _open(api: Api, serial: int = 1, **data: Any) -> dict[str, Any]:
    with api.client("platform") as http:
        response = http.post(
            "/v1/cases", json={"program": PROGRAM, "applicant": applicant(serial), "data": complete_data(**data)}
        )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_read_and_fire(api: Api) -> None:
    # LG-FLOW-1 over HTTP
    with api.client("platform", **{"X-Calling-System": "longgang-portal"}) as http:
        created = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()})
        assert created.status_code == 201
        assert created.headers["Location"] == f"/v1/cases/{created.json()['id']}"
        assert created.headers["ETag"] == '"1"'
        body = created.json()
        assert (body["state"], body["state_label"], body["amount"]["yuan"]) == ("draft", "草稿（未提交）", "360000.00")
        assert body["amount"]["steps"][0].startswith("LG-AMT-2")
        assert {m["key"]: m["missing"] for m in body["materials"]}["credit_report"] is False
        assert [d["key"] for d in body["deadlines"]] == ["online_window"]
        options = {o["event"]: o for o in body["events"]}
        assert options["submit"]["allowed"] is True
        fired = http.post(f"/v1/cases/{body['id']}/events", json={"event": "submit"}, headers={"If-Match": '"1"'})
        assert fired.status_code == 200, fired.text
        assert (fired.json()["state"], fired.headers["ETag"]) == ("online_review", '"2"')
        audit = http.get(f"/v1/cases/{body['id']}/audit").json()
    last = audit[-1]
    assert (last["actor"], last["role"], last["via"], last["event"]) == (
        "platform-token",
        "platform",
        "http:longgang-portal",
        "submit",
    )
    with api.client("staff") as http:
        options = {o["event"]: o for o in http.get(f"/v1/cases/{body['id']}").json()["events"]}
    assert options["pass_online_review"]["allowed"] is True
    assert options["withdraw"]["refusal"]["rule"] == "ROLE"


def test_guard_refusal_names_the_rule_and_writes_nothing(api: Api, clock: ManualClock) -> None:
    # LG-WIN-1 over HTTP: 422 with the rule ID
    case = _open(api)
    clock.set(sh("2025-09-14 00:00"))
    before = database_image(api.engine)
    with api.client("platform") as http:
        refused = http.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert (problem["type"].rsplit("/", 1)[1], problem["rule"], problem["case_id"]) == ("rule-refused", "LG-WIN-1", 1)
    assert database_image(api.engine) == before


def test_bad_input_is_422_naming_the_field(api: Api) -> None:
    with api.client("platform") as http:
        cases = {
            "mass assignment of state": (
                {"program": PROGRAM, "applicant": applicant(), "data": {}, "state": "funded"},
                "state",
            ),
            "check digit": (
                {"program": PROGRAM, "applicant": {**applicant(), "code": "91440300000000001X"}, "data": {}},
                "applicant.code",
            ),
            "negative fees": (
                {"program": PROGRAM, "applicant": applicant(), "data": {"fees_cny": "-1"}},
                "data.fees_cny",
            ),
            "computed amount": (
                {"program": PROGRAM, "applicant": applicant(), "data": {"amount_fen": 1}},
                "data.amount_fen",
            ),
            "unknown program": ({"program": "nope", "applicant": applicant(), "data": {}}, "program"),
        }
        for name, (body, field) in cases.items():
            response = http.post("/v1/cases", json=body)
            assert response.status_code == 422, name
            assert response.json()["field"] == field, (name, response.json())
        malformed = http.post("/v1/cases", content=b'{"program": ', headers={"Content-Type": "application/json"})
        assert malformed.status_code == 422
        assert malformed.json()["type"].endswith("/malformed-json")
        assert http.get("/v1/cases/999").status_code == 404
        assert http.get("/v1/cases/0").status_code == 422
        huge = http.post("/v1/cases", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})
        assert huge.status_code == 413
        assert huge.json()["status"] == 413


def test_if_match_and_version_conflicts(api: Api) -> None:
    case = _open(api)
    with api.client("staff") as staff, api.client("platform") as platform:
        platform.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
        stale = staff.post(
            f"/v1/cases/{case['id']}/events", json={"event": "pass_online_review"}, headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 412
        missing = staff.post(f"/v1/cases/{case['id']}/override", json={"target_state": "funded", "reason": "x"})
        assert (missing.status_code, missing.json()["field"]) == (412, "If-Match")
        dry = staff.post(
            f"/v1/cases/{case['id']}/override",
            json={"target_state": "awaiting_paper", "reason": "补录", "dry_run": True},
            headers={"If-Match": '"2"'},
        )
        assert dry.status_code == 200
        assert (dry.json()["dry_run"], dry.json()["deadlines_opened"]) == (True, ["paper_delivery"])
        assert staff.get(f"/v1/cases/{case['id']}").json()["state"] == "online_review"
        real = staff.post(
            f"/v1/cases/{case['id']}/override",
            json={"target_state": "awaiting_paper", "reason": "补录"},
            headers={"If-Match": 'W/"2"'},
        )
        assert (real.status_code, real.json()["version"]) == (200, 3)
        deadline = staff.get(f"/v1/cases/{case['id']}").json()["deadlines"][0]
        extended = staff.post(
            f"/v1/cases/{case['id']}/deadlines/{deadline['id']}/extend",
            json={"working_days": 2, "reason": "材料在途"},
            headers={"If-Match": '"3"'},
        )
        assert extended.status_code == 200, extended.text
        assert extended.json()["ledger"][0]["reason"] == "材料在途"
        suspended = staff.post(
            f"/v1/cases/{case['id']}/deadlines/{deadline['id']}/suspend",
            json={"reason": "等待"},
            headers={"If-Match": '"4"'},
        )
        assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
        resumed = staff.post(
            f"/v1/cases/{case['id']}/deadlines/{deadline['id']}/resume",
            json={"reason": "继续"},
            headers={"If-Match": '"5"'},
        )
        assert (resumed.status_code, resumed.json()["status"]) == (200, "pending")


def test_applicants_see_only_their_own_cases(api: Api) -> None:
    mine, theirs = _open(api, 1), _open(api, 2)
    with api.client("applicant") as http:
        assert http.get(f"/v1/cases/{mine['id']}").status_code == 200
        hidden = http.get(f"/v1/cases/{theirs['id']}")
        assert hidden.status_code == 404, "another applicant's case does not reveal that it exists"
        assert http.get(f"/v1/cases/{theirs['id']}/audit").status_code == 404
        assert http.post(f"/v1/cases/{theirs['id']}/events", json={"event": "withdraw"}).status_code == 404
        listed = http.get("/v1/cases", params={"applicant_code": theirs["applicant"]["code"]}).json()
        assert [c["id"] for c in listed["items"]] == [mine["id"]]
        assert http.post(f"/v1/cases/{mine['id']}/events", json={"event": "submit"}).status_code == 200
        refused = http.post(f"/v1/cases/{mine['id']}/events", json={"event": "pass_online_review"})
        assert refused.status_code == 403
        assert (
            http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(1), "data": {}}).status_code == 403
        )


def test_list_filters_and_clamps_pages(api: Api) -> None:
    for serial in range(1, 4):
        _open(api, serial)
    with api.client("staff") as http:
        page = http.get("/v1/cases", params={"limit": 100000}).json()
        assert (page["limit"], page["total"], len(page["items"])) == (100, 3, 3)
        assert http.get("/v1/cases", params={"limit": -5}).json()["limit"] == 1
        assert http.get("/v1/cases", params={"state": "funded"}).json()["total"] == 0
        due = http.get("/v1/cases", params={"due_before": "2025-09-14T00:00:01+08:00"}).json()
        assert due["total"] == 3
        assert http.get("/v1/cases", params={"due_before": "2025-09-13T00:00:00+08:00"}).json()["total"] == 0


def test_notice_resends_are_rate_limited(api: Api) -> None:
    case = _open(api)
    with api.client("platform") as http:
        http.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
        notices = http.get(f"/v1/cases/{case['id']}/notices").json()
        sms = next(n for n in notices if n["channel"] == "sms")
        codes = [http.post(f"/v1/cases/{case['id']}/notices/{sms['id']}/resend").status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]


def test_unauthenticated_and_revoked(api: Api, clock: ManualClock) -> None:
    with httpx.Client(base_url=api.base) as http:
        assert http.get("/v1/cases").status_code == 401
        assert http.get("/v1/cases", headers={"Authorization": "Bearer ff_nope"}).status_code == 401
        assert http.get("/v1/cases", headers={"Authorization": "Basic ff_nope"}).status_code == 401
    revoke_token(api.engine.database, name="staff-token", now=clock.now())
    with api.client("staff") as http:
        assert http.get("/v1/cases").status_code == 401, "never used, so never remembered: refused at once"
    with api.client("platform") as http:
        assert http.get("/v1/cases").status_code == 200  # looked up, and trusted for CACHE_SECONDS
        revoke_token(api.engine.database, name="platform-token", now=clock.now())
        clock.advance(timedelta(seconds=CACHE_SECONDS) - timedelta(milliseconds=1))
        assert http.get("/v1/cases").status_code == 200, "revocation takes effect within CACHE_SECONDS"
        clock.advance(timedelta(milliseconds=1))
        assert http.get("/v1/cases").status_code == 401
    with api.client("admin") as http:
        assert http.get("/v1/cases").status_code == 200
        revoke_token(api.engine.database, name="admin-token", now=clock.now())
        clock.set(clock.now() - timedelta(hours=1))
        assert http.get("/v1/cases").status_code == 401, "a clock set back looks the token up again"


def test_nul_characters_are_refused_everywhere(api: Api) -> None:
    # PostgreSQL cannot store NUL: every body, query string and path refuses it with a 422
    with api.client("admin") as http:
        hook = http.post("/v1/webhooks", json={"url": "http://\x00", "secret": "0" * 16})
        assert (hook.status_code, hook.json()["type"].rsplit("/", 1)[1]) == (422, "invalid-input")
        case = http.post(
            "/v1/cases", json={"program": PROGRAM, "applicant": {**applicant(), "name": "a\x00"}, "data": {}}
        )
        assert case.status_code == 422
        assert http.get("/v1/cases", params={"program": "a\x00"}).status_code == 422
