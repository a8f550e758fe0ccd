"""Idempotency-Key on every changing POST; twenty clients racing one event; racing re-sends (RELIABILITY 1, 2, 11)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from app.api import idempotency
from app.api.auth import resolve
from tests.api.conftest import Api, api_image
from tests.support.invariants import database_image
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.tables import notice_resends, notices


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


def _awaiting_paper(api: Api) -> dict[str, Any]:
    """A submitted case that staff moved on to awaiting paper: it has a deadline and notices."""
    with api.client("platform") as http:
        case = http.post("/v1/cases", json=_body()).json()
        http.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
    with api.client("staff") as staff:
        staff.post(
            f"/v1/cases/{case['id']}/override",
            json={"target_state": "awaiting_paper", "reason": "set-up"},
            headers={"If-Match": '"2"'},
        )
        return staff.get(f"/v1/cases/{case['id']}").json()  # type: ignore[no-any-return]


def test_every_changing_post_honours_idempotency_keys(api: Api) -> None:
    case = _awaiting_paper(api)
    deadline = case["deadlines"][0]["id"]
    url = f"/v1/cases/{case['id']}"
    with api.client("staff") as staff, api.client("platform") as platform:
        sms = next(n for n in staff.get(f"{url}/notices").json() if n["channel"] == "sms")
        requests: list[tuple[Any, str, dict[str, Any] | None, dict[str, str], dict[str, Any] | None]] = [
            (
                staff,
                f"{url}/deadlines/{deadline}/extend",
                {"working_days": 2, "reason": "在途"},
                {"If-Match": '"3"'},
                {"working_days": 3, "reason": "在途"},
            ),
            (
                staff,
                f"{url}/deadlines/{deadline}/suspend",
                {"reason": "等待"},
                {"If-Match": '"4"'},
                {"reason": "另一理由"},
            ),
            (
                staff,
                f"{url}/deadlines/{deadline}/resume",
                {"reason": "继续"},
                {"If-Match": '"5"'},
                {"reason": "另一理由"},
            ),
            (
                staff,
                f"{url}/override",
                {"target_state": "evaluation", "reason": "已收件"},
                {"If-Match": '"6"'},
                {"target_state": "evaluation", "reason": "x"},
            ),
            (platform, f"{url}/notices/{sms['id']}/resend", None, {}, None),
            (
                staff,
                "/v1/programs/shenzhen-training-voucher-2024/batches",
                {"event": "accept", "count": 1},
                {},
                {"event": "accept", "count": 2},
            ),
        ]
        for index, (http, path, body, headers, other) in enumerate(requests):
            key = {"Idempotency-Key": f"retry-{index}"}
            first = http.post(path, json=body, headers={**headers, **key})
            assert 200 <= first.status_code < 300, (path, first.text)
            before = api_image(api.engine)
            replay = http.post(path, json=body, headers={**headers, **key})
            assert (replay.status_code, replay.json()) == (first.status_code, first.json()), path
            assert replay.headers["Idempotent-Replay"] == "true", path
            assert api_image(api.engine) == before, f"{path}: a replay does nothing twice"
            if other is not None:
                changed = http.post(path, json=other, headers={**headers, **key})
                assert (changed.status_code, changed.json()["field"]) == (422, "Idempotency-Key"), path
        audit = staff.get(f"{url}/audit").json()
    assert [e["event"] or e["kind"] for e in audit][-5:] == [
        "deadline.extend",
        "deadline.suspend",
        "deadline.resume",
        "override",
        "notice.resent",  # a re-send is an audited engine command (issue 14), recorded once
    ]


def test_concurrent_resends_cannot_pass_the_hourly_limit_together(api: Api) -> None:
    case = _awaiting_paper(api)
    with api.client("staff") as staff:
        sms = next(n for n in staff.get(f"/v1/cases/{case['id']}/notices").json() if n["channel"] == "sms")
    clients = 12
    start = threading.Barrier(clients)

    def resend(_: int) -> int:
        with api.client("platform") as http:
            http.get("/healthz")  # connected before the race starts
            start.wait()
            return http.post(f"/v1/cases/{case['id']}/notices/{sms['id']}/resend").status_code

    with ThreadPoolExecutor(clients) as pool:
        codes = sorted(pool.map(resend, range(clients)))
    assert codes == [202] * 3 + [429] * (clients - 3)
    with api.engine.database.connect() as conn:
        copies = (
            conn.execute(
                sa.select(notices.c.idempotency_key).where(
                    notices.c.idempotency_key.like(f"{sms_key(api, sms['id'])}/resend/%")
                )
            )
            .scalars()
            .all()
        )
        resends = conn.execute(sa.select(sa.func.count()).select_from(notice_resends)).scalar_one()
    assert (len(copies), len(set(copies)), resends) == (3, 3, 3)


def sms_key(api: Api, notice_id: int) -> str:
    with api.engine.database.connect() as conn:
        return str(conn.execute(sa.select(notices.c.idempotency_key).where(notices.c.id == notice_id)).scalar_one())
