"""Inputs no store can take get a 422 naming the field (or a 413), never a 500, and write nothing (issue 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.api.limits import MAX_BODY
from tests.api.conftest import Api, api_image
from tests.support.longgang import PROGRAM, applicant, complete_data

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def _draft(api: Api, serial: int = 1) -> dict[str, Any]:
    with api.client("platform") as http:
        created = http.post("/v1/cases", json={"program": PROGRAM, "applicant": applicant(serial), "data": {}})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def _slug(body: dict[str, Any]) -> str:
    return str(body["type"]).rsplit("/", 1)[1]


def test_due_before_outside_the_representable_range_is_422(api: Api) -> None:
    _draft(api)
    with api.client("staff") as http:
        for value in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "2025-09-01T00:00:00"):
            refused = http.get("/v1/cases", params={"due_before": value})
            assert (refused.status_code, refused.headers["content-type"]) == (422, PROBLEM), value
            assert (_slug(refused.json()), refused.json()["field"]) == ("invalid-input", "due_before"), value
        edge = http.get("/v1/cases", params={"due_before": "9999-12-31T23:59:59+00:00"})
        assert (edge.status_code, edge.json()["total"]) == (200, 1)


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        step = min(size, total - sent)
        sent += step
        yield b" " * step


def test_a_chunked_body_over_1_mib_is_413_and_one_within_reaches_the_app(api: Api) -> None:
    before = api_image(api.engine)
    with api.client("platform") as http:
        big = http.post("/v1/cases", content=_chunks(MAX_BODY + 1), headers=JSON)
        assert "content-length" not in big.request.headers
        assert big.request.headers["transfer-encoding"] == "chunked"
        assert (big.status_code, big.headers["content-type"]) == (413, PROBLEM)
        assert (_slug(big.json()), big.json()["status"], big.json()["instance"]) == ("body-too-large", 413, "/v1/cases")
    assert api_image(api.engine) == before
    body = json.dumps({"program": PROGRAM, "applicant": applicant(1), "data": complete_data()}).encode()
    padded = body + b" " * (MAX_BODY - len(body))  # exactly 1 MiB, in two chunks
    with api.client("platform") as http:
        fits = http.post(
            "/v1/cases", content=iter([padded[: len(padded) // 2], padded[len(padded) // 2 :]]), headers=JSON
        )
    assert "content-length" not in fits.request.headers
    assert fits.status_code == 201, fits.text


UNSTORABLE: dict[str, tuple[bytes, str]] = {
    # PostgreSQL and the audit hash (UTF-8) cannot take a lone surrogate; json.loads accepts one
    "lone surrogate": (b'{"event": "submit", "payload": {"note": "\\ud800"}}', "payload.note"),
    "lone surrogate in a key": (b'{"event": "submit", "payload": {"\\udc00": 1}}', "payload.\\udc00"),
    # NaN and Infinity are not JSON (RFC 8259); PostgreSQL's json type refuses them
    "NaN": (b'{"event": "submit", "payload": {"n": NaN}}', "payload.n"),
    "Infinity": (b'{"event": "submit", "payload": {"n": [1, -Infinity]}}', "payload.n.1"),
    "NUL": (b'{"event": "submit", "payload": {"n": "a\\u0000"}}', "payload.n"),
    # deep enough to exhaust a recursive walk, shallow enough for the JSON parser
    "nested 900 deep": (b'{"event": "submit", "payload": {"x": ' + b"[" * 900 + b"]" * 900 + b"}}", "payload.x.0"),
}


def test_bodies_no_store_can_take_are_422_naming_the_field(api: Api) -> None:
    case = _draft(api)
    before = api_image(api.engine)
    with api.client("platform") as http:
        for name, (raw, field) in UNSTORABLE.items():
            refused = http.post(f"/v1/cases/{case['id']}/events", content=raw, headers=JSON)
            assert (refused.status_code, refused.headers["content-type"]) == (422, PROBLEM), (name, refused.text)
            problem = refused.json()
            assert _slug(problem) == "invalid-input", name
            assert problem["field"].startswith(field), (name, problem["field"])
    assert api_image(api.engine) == before


def test_bodies_that_are_not_json_are_422_malformed_json(api: Api) -> None:
    case = _draft(api)
    before = api_image(api.engine)
    malformed = {
        "truncated": b'{"event": ',
        "not UTF-8": b'{"event": "\xff\xfe"}',
        "nested beyond the parser": b'{"event": "submit", "payload": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    }
    with api.client("platform") as http:
        for name, raw in malformed.items():
            refused = http.post(f"/v1/cases/{case['id']}/events", content=raw, headers=JSON)
            assert (refused.status_code, refused.headers["content-type"]) == (422, PROBLEM), (name, refused.text)
            assert _slug(refused.json()) == "malformed-json", name
    assert api_image(api.engine) == before


def test_a_deadline_date_beyond_the_calendar_is_422(api: Api) -> None:
    case = _draft(api)
    with api.client("platform") as platform:
        platform.post(f"/v1/cases/{case['id']}/events", json={"event": "submit", "payload": {"data": complete_data()}})
    with api.client("staff") as staff:
        staff.post(
            f"/v1/cases/{case['id']}/override",
            json={"target_state": "awaiting_paper", "reason": "补录"},
            headers={"If-Match": '"2"'},
        )
        current = staff.get(f"/v1/cases/{case['id']}").json()
        deadline = current["deadlines"][0]["id"]
        before = api_image(api.engine)
        for to_date in ("9999-12-31", "0001-01-01"):
            refused = staff.post(
                f"/v1/cases/{case['id']}/deadlines/{deadline}/extend",
                json={"to_date": to_date, "reason": "延期"},
                headers={"If-Match": f'"{current["version"]}"'},
            )
            assert (refused.status_code, refused.json()["field"]) == (422, "to_date"), refused.text
    assert api_image(api.engine) == before


def test_ids_and_pages_beyond_the_columns_are_422_or_clamped(api: Api) -> None:
    case = _draft(api)
    with api.client("staff") as http:
        for path, field in (
            (f"/v1/cases/{2**63}", "case_id"),
            (f"/v1/cases/{2**31}", "case_id"),  # PostgreSQL's integer column ends at 2**31 - 1
            (f"/v1/cases/{case['id']}/notices/{2**64}/resend", "notice_id"),
            (f"/v1/cases/{case['id']}/deadlines/{2**40}/extend", "deadline_id"),
        ):
            method = "GET" if path.count("/") == 3 else "POST"
            refused = http.request(method, path, json={"reason": "x", "working_days": 1}, headers={"If-Match": '"1"'})
            assert (refused.status_code, refused.json()["field"]) == (422, field), (path, refused.text)
        with api.client("admin") as admin:
            assert admin.delete(f"/v1/webhooks/{2**63}").json()["field"] == "webhook_id"
        assert http.get("/v1/cases", params={"offset": 10**10}).json()["field"] == "offset"
        page = http.get("/v1/cases", params={"limit": 2**70, "offset": 10**9})
        assert (page.status_code, page.json()["limit"], page.json()["items"]) == (200, 100, [])
