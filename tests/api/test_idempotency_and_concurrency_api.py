"""Idempotency-Key over HTTP, and twenty clients racing one event (RELIABILITY.md tests 1 and 2)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.api import idempotency
from app.api.auth import resolve
from tests.api.conftest import Api
from tests.support.invariants import database_image
from tests.support.longgang import PROGRAM, applicant, complete_data


def _body(serial: int = 1) -> dict[str, object]:
    return {"program": PROGRAM, "applicant": applicant(serial), "data": complete_data()}


def test_replay_returns_the_first_response_and_writes_nothing(api: Api) -> None:
    with api.client("platform") as http:
        first = http.post("/v1/cases", json=_body(), headers={"Idempotency-Key": "open-1"})
        assert first.status_code == 201
        before = database_image(api.engine)
        replay = http.post("/v1/cases", json=_body(), headers={"Idempotency-Key": "open-1"})
        assert (replay.status_code, replay.json(), replay.headers["ETag"]) == (201, first.json(), first.headers["ETag"])
        assert replay.headers["Idempotent-Replay"] == "true"
        assert database_image(api.engine) == before
        changed = http.post("/v1/cases", json=_body(2), headers={"Idempotency-Key": "open-1"})
        assert (changed.status_code, changed.json()["field"]) == (422, "Idempotency-Key")
        fired = http.post(
            f"/v1/cases/{first.json()['id']}/events", json={"event": "submit"}, headers={"Idempotency-Key": "submit-1"}
        )
        again = http.post(
            f"/v1/cases/{first.json()['id']}/events", json={"event": "submit"}, headers={"Idempotency-Key": "submit-1"}
        )
        assert (fired.status_code, again.status_code, again.json()) == (200, 200, fired.json())
        assert len(http.get(f"/v1/cases/{first.json()['id']}/audit").json()) == 2
        too_long = http.post("/v1/cases", json=_body(3), headers={"Idempotency-Key": "k" * 256})
        assert too_long.status_code == 422


def test_keys_are_scoped_per_token(api: Api) -> None:
    with api.client("platform") as platform, api.client("admin") as admin:
        one = platform.post("/v1/cases", json=_body(1), headers={"Idempotency-Key": "same"})
        two = admin.post("/v1/cases", json=_body(2), headers={"Idempotency-Key": "same"})
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["id"] != two.json()["id"]


def test_a_twin_still_in_flight_gets_409(api: Api) -> None:
    caller = resolve(api.engine.database, api.tokens["platform"])
    assert caller is not None
    digest = idempotency.request_hash("POST", "/v1/cases", _body(), None)
    idempotency.begin(api.engine.database, caller, "slow-1", digest, api.engine.clock.now())  # the first, in flight
    with api.client("platform") as http:
        twin = http.post("/v1/cases", json=_body(), headers={"Idempotency-Key": "slow-1"})
    assert (twin.status_code, twin.headers["Retry-After"]) == (409, "1")
    assert twin.json()["type"].endswith("/request-in-flight")


def test_a_refused_request_does_not_burn_its_key(api: Api) -> None:
    with api.client("platform") as http:
        bad = http.post("/v1/cases", json={**_body(), "program": "nope"}, headers={"Idempotency-Key": "k-9"})
        assert bad.status_code == 422
        good = http.post("/v1/cases", json={**_body(), "program": "nope"}, headers={"Idempotency-Key": "k-9"})
        assert good.status_code == 422, "the same refused request is evaluated again, not replayed as a success"


def test_twenty_clients_fire_one_event_one_wins(api: Api) -> None:
    with api.client("platform") as http:
        case = http.post("/v1/cases", json=_body()).json()
        http.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})

    def fire(_: int) -> int:
        with api.client("staff") as staff:
            return staff.post(f"/v1/cases/{case['id']}/events", json={"event": "pass_online_review"}).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = sorted(pool.map(fire, range(20)))
    assert codes == [200] + [409] * 19
