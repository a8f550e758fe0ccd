"""What a hand-written hostile client found against a live server (issue 16 round, hostile helper).

Each test is one finding: a wrong 2xx, a 422 that named no field, or an answer the client never
read. Every refusal names its ``field`` and writes nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from typing import Any

import httpx
import pytest

from app.api import create_app
from app.api.auth import create_token
from app.api.limits import MAX_BODY
from tests.api.conftest import Api, api_image
from tests.support.http import serving
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.engine import Engine

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def _open_body(serial: int = 1) -> dict[str, Any]:
    return {"program": PROGRAM, "applicant": applicant(serial), "data": complete_data()}


def _problem(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    return body


@pytest.mark.parametrize(
    ("raw", "detail"), [(b"null", "must be"), (b"[]", "must be"), (b"5", "must be"), (b"", "required")]
)
def test_a_body_that_is_not_an_object_is_422_naming_the_body(api: Api, raw: bytes, detail: str) -> None:
    before = api_image(api.engine)
    with api.client("platform") as http:
        body = _problem(http.post("/v1/cases", content=raw, headers=JSON), 422, "body")
    assert detail in body["detail"]
    assert api_image(api.engine) == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=b", None],
)
def test_a_body_not_sent_as_json_is_415_naming_the_content_type(api: Api, content_type: str | None) -> None:
    # before: 422 "Input should be a valid dictionary" naming nothing, though the body was perfect JSON
    before = api_image(api.engine)
    headers = {"Content-Type": content_type} if content_type else {}
    with api.client("platform") as http:
        refused = http.post("/v1/cases", content=json.dumps(_open_body()).encode(), headers=headers)
        body = _problem(refused, 415, "Content-Type")
        assert body["type"].endswith("/unsupported-media-type")
        assert http.post("/v1/cases", content=json.dumps(_open_body()).encode(), headers=JSON).status_code == 201
        assert api_image(api.engine) != before
    with api.client(None) as http:
        assert "415" in http.get("/openapi.json").json()["paths"]["/v1/cases"]["post"]["responses"]


def test_a_json_key_given_twice_is_refused_naming_it(api: Api) -> None:
    # before: 201, the last "program" winning; a gateway reading the first would have checked another request
    before = api_image(api.engine)
    fields = json.dumps(_open_body())[1:]
    with api.client("platform") as http:
        twice = http.post("/v1/cases", content=('{"program": "elsewhere", ' + fields).encode(), headers=JSON)
        _problem(twice, 422, "program")
        nested = json.dumps(_open_body()).replace('"fees_cny":', '"fees_cny": "900000", "fees_cny":', 1)
        _problem(http.post("/v1/cases", content=nested.encode(), headers=JSON), 422, "fees_cny")
    assert api_image(api.engine) == before


def test_a_nul_in_the_url_names_the_parameter_or_the_path(api: Api) -> None:
    with api.client("staff") as http:
        _problem(http.get("/v1/cases?applicant_code=%00"), 422, "applicant_code")
        _problem(http.get("/v1/lists/entries?list=a%00b"), 422, "list")
        _problem(http.get("/v1/programs/%00"), 422, "path")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/cases/1/override", {"target_state": "funded", "reason": "x", "dry_run": "false"}, "dry_run"),
        ("/v1/cases/1/override", {"target_state": "funded", "reason": "x", "dry_run": 0}, "dry_run"),
        (f"/v1/programs/{PROGRAM}/batches", {"event": "pass_online_review", "count": "20"}, "count"),
        (f"/v1/programs/{PROGRAM}/batches", {"event": "pass_online_review", "count": 2.0}, "count"),
        ("/v1/cases/1/deadlines/1/extend", {"reason": "x", "working_days": "2"}, "working_days"),
        (
            "/v1/lists/imports",
            {"file_name": "a.csv", "content_base64": "YQ==", "reason": "x", "apply": "true"},
            "apply",
        ),
    ],
)
def test_flags_and_counts_are_json_booleans_and_integers_never_text(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    # before: "dry_run": "false" was read as False and performed a real override (pydantic's lax bool)
    with api.client("platform") as http:
        assert http.post("/v1/cases", json=_open_body()).status_code == 201
    before = api_image(api.engine)
    with api.client("staff") as http:
        _problem(http.post(path, json=body, headers={"If-Match": '"1"'}), 422, field)
    assert api_image(api.engine) == before


def _raw_post(api: Api, head: bytes, body: bytes) -> bytes:
    """Send a request on a plain socket, all of it, then read the whole answer."""
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # what matters is whether the answer arrives
            sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_an_oversized_body_gets_its_413_instead_of_a_connection_reset(api: Api) -> None:
    # before: the server answered before reading the body and closed the socket with data unread, so the
    # kernel reset the connection and a client still sending 2 MiB saw "connection reset", never the 413
    token = api.tokens["platform"].encode()
    big = b'{"x": "' + b"a" * (2 * MAX_BODY) + b'"}'
    for _ in range(5):
        head = b"POST /v1/cases HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token
        answer = _raw_post(api, head + b"\r\nContent-Length: %d\r\n\r\n" % len(big), big)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    with api.client("platform") as http:
        streamed = http.post("/v1/cases", content=iter([big[:MAX_BODY], big[MAX_BODY:]]), headers=JSON)
        assert streamed.status_code == 413


class _Records(logging.Handler):
    """Access-log statuses and error records, from the loggers a served app writes to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statuses: list[int] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "filingflow.access":
            self.statuses.append(int(getattr(record, "status", 0)))
        elif record.levelno >= logging.ERROR or record.exc_info:
            self.errors.append(record.getMessage())


@pytest.mark.parametrize("sandbox", [False, True], ids=["plain", "sandbox"])
def test_a_client_that_hangs_up_mid_body_is_no_server_error(engine: Engine, sandbox: bool) -> None:
    # before: the door middleware returned without answering; the sandbox's middleware above it raised
    # "No response returned" (an ERROR with a traceback, 40 of them under a slowloris) and the access log said 500
    records = _Records()
    loggers = [logging.getLogger(name) for name in ("filingflow.access", "filingflow.api", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(records)
        logger.setLevel(logging.INFO)  # the access log writes at INFO
    _, token = create_token(
        engine.database, name="hangs-up", role="platform", applicant_code=None, now=engine.clock.now()
    )
    info = {"clock_start": "2025-08-20T09:00:00+08:00"} if sandbox else None
    try:
        with serving(create_app(engine, sandbox=info)) as base:
            host, port = base.removeprefix("http://").split(":")
            for _ in range(5):
                with socket.create_connection((host, int(port)), timeout=10) as sock:
                    sock.sendall(
                        b"POST /v1/cases HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        b"Authorization: Bearer " + token.encode() + b'\r\nContent-Length: 1000\r\n\r\n{"pro'
                    )
            deadline = time.monotonic() + 10
            while len(records.statuses) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(records)
            logger.setLevel(level)
    assert records.statuses == [400] * 5
    assert records.errors == []


@pytest.mark.parametrize(
    "url",
    [
        "http://\U000b54f9Z/",
        "http:// a b",
        "http://a b.example/x",
        "http://:80/x",
        "http://a.example:99999/x",
        "https://a\tb/",
    ],
)
def test_a_webhook_url_no_http_client_can_send_to_is_refused_naming_url(api: Api, url: str) -> None:
    # before: 201; the fuzzer's IDNA-invalid host then failed every outbox tick (httpx.InvalidURL), and
    # "http:// a b" was stored with the host "%20a%20b"
    before = api_image(api.engine)
    with api.client("admin") as http:
        refused = http.post("/v1/webhooks", json={"url": url, "secret": "s" * 16})
    _problem(refused, 422, "url")
    assert api_image(api.engine) == before


def test_a_webhook_url_with_an_international_host_name_is_taken(api: Api) -> None:
    with api.client("admin") as http:
        created = http.post("/v1/webhooks", json={"url": "https://例子.中国/hooks", "secret": "s" * 16})
    assert created.status_code == 201, created.text
