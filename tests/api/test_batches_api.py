"""``POST /v1/programs/{key}/batches`` on the Shenzhen voucher: staff advance cases in submission order (SZ-FLOW-3)."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Api, api_image
from tests.support.longgang import applicant, sh
from tests.support.shenzhen import PROGRAM, voucher_data
from workflow.clock import ManualClock

PROBLEM = "application/problem+json"


def _submitted(api: Api, clock: ManualClock, count: int) -> list[int]:
    """``count`` voucher cases submitted five minutes apart inside the 2024 window (SZ-WIN-1)."""
    clock.set(sh("2024-11-25 10:00"))
    ids = []
    with api.client("platform") as http:
        for serial in range(1, count + 1):
            case = http.post(
                "/v1/cases", json={"program": PROGRAM, "applicant": applicant(serial), "data": voucher_data()}
            )
            assert case.status_code == 201, case.text
            ids.append(case.json()["id"])
            submitted = http.post(f"/v1/cases/{ids[-1]}/events", json={"event": "submit"})
            assert (submitted.status_code, submitted.json()["state"]) == (200, "pending_acceptance"), submitted.text
            clock.advance(timedelta(minutes=5))
    return ids


def _states(api: Api, ids: list[int]) -> list[str]:
    with api.client("staff") as http:
        return [http.get(f"/v1/cases/{i}").json()["state"] for i in ids]


def test_a_batch_advances_cases_in_submission_order(api: Api, clock: ManualClock) -> None:
    # SZ-FLOW-3 over HTTP
    ids = _submitted(api, clock, 4)
    with api.client("staff") as staff:
        batch = staff.post(f"/v1/programs/{PROGRAM}/batches", json={"event": "accept", "count": 2})
        assert batch.status_code == 200, batch.text
        assert batch.json() == {"advanced": ids[:2], "stopped_at": None, "reason": None}
        assert _states(api, ids) == ["preliminary_review"] * 2 + ["pending_acceptance"] * 2
        before = api_image(api.engine)
        jumped = staff.post(f"/v1/cases/{ids[3]}/events", json={"event": "accept"})  # skipping case ids[2]
        assert (jumped.status_code, jumped.headers["content-type"]) == (422, PROBLEM)
        assert (jumped.json()["rule"], jumped.json()["case_id"]) == ("SZ-FLOW-3", ids[3])
        assert str(ids[2]) in jumped.json()["detail"]
        assert api_image(api.engine) == before
        rest = staff.post(f"/v1/programs/{PROGRAM}/batches", json={"event": "accept", "count": 10})
        assert rest.json()["advanced"] == ids[2:], "fewer waiting than asked for: all of them, in order"
        nothing = staff.post(f"/v1/programs/{PROGRAM}/batches", json={"event": "accept", "count": 10})
        assert nothing.json() == {"advanced": [], "stopped_at": None, "reason": None}
        # the next stage goes in the same order
        assert (
            staff.post(f"/v1/programs/{PROGRAM}/batches", json={"event": "pass_preliminary", "count": 3}).json()[
                "advanced"
            ]
            == ids[:3]
        )
    assert _states(api, ids) == ["expert_review"] * 3 + ["preliminary_review"]


def test_bad_batches_are_refused_naming_the_field(api: Api, clock: ManualClock) -> None:
    ids = _submitted(api, clock, 1)
    before = api_image(api.engine)
    with api.client("staff") as staff:
        for body, status, field in (
            ({"event": "accept", "count": 0}, 422, "count"),
            ({"event": "accept", "count": 501}, 422, "count"),
            ({"event": "accept"}, 422, "count"),
            ({"event": "no_such_event", "count": 1}, 422, "event"),
            ({"event": "accept", "count": 1, "stage": "x"}, 422, "stage"),
        ):
            refused = staff.post(f"/v1/programs/{PROGRAM}/batches", json=body)
            assert (refused.status_code, refused.json().get("field")) == (status, field), (body, refused.text)
        unknown = staff.post("/v1/programs/no-such-round/batches", json={"event": "accept", "count": 1})
        assert (unknown.status_code, unknown.json()["field"]) == (
            404,
            "key",
        )  # a program named in the path that does not exist (issue 13 item 8)
    with api.client("platform") as platform:
        forbidden = platform.post(f"/v1/programs/{PROGRAM}/batches", json={"event": "accept", "count": 1})
        assert (forbidden.status_code, forbidden.json()["field"]) == (403, "role")
    assert api_image(api.engine) == before
    assert _states(api, ids) == ["pending_acceptance"]
