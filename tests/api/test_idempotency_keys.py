"""Idempotency-Key: up to 255 characters honoured, kept 24 hours (or the retention set), then purged by the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.tables import http_idempotency
from scheduler.jobs import deadline_pass
from tests.api.conftest import Api
from tests.support.longgang import PROGRAM, applicant, complete_data
from workflow.clock import ManualClock
from workflow.tables import cases


def _body(serial: int) -> dict[str, Any]:
    return {"program": PROGRAM, "applicant": applicant(serial), "data": complete_data()}


def _keys(api: Api) -> set[str]:
    with api.engine.database.connect() as conn:
        return set(conn.execute(sa.select(http_idempotency.c.key)).scalars())


def _cases(api: Api) -> int:
    with api.engine.database.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one())


def test_keys_of_251_to_255_characters_are_honoured(api: Api) -> None:
    with api.client("platform") as http:
        for serial, length in enumerate((251, 254, 255), start=1):
            key = "k" * length
            first = http.post("/v1/cases", json=_body(serial), headers={"Idempotency-Key": key})
            assert first.status_code == 201, (length, first.text)
            replay = http.post("/v1/cases", json=_body(serial), headers={"Idempotency-Key": key})
            assert (replay.status_code, replay.headers.get("Idempotent-Replay")) == (201, "true"), length
            assert replay.json()["id"] == first.json()["id"]
        refused = http.post("/v1/cases", json=_body(9), headers={"Idempotency-Key": "k" * 256})
        assert (refused.status_code, refused.json()["field"]) == (422, "Idempotency-Key")
    assert _cases(api) == 3


def test_the_worker_forgets_keys_older_than_24_hours_and_a_younger_one_replays(api: Api) -> None:
    clock = api.engine.clock
    assert isinstance(clock, ManualClock)
    with api.client("platform") as http:
        old = http.post("/v1/cases", json=_body(1), headers={"Idempotency-Key": "old"})
        clock.advance(timedelta(hours=1))
        young = http.post("/v1/cases", json=_body(2), headers={"Idempotency-Key": "young"})
        clock.advance(timedelta(hours=23, seconds=1))  # "old" is 24 h 1 s old, "young" 23 h 1 s
        report = deadline_pass(api.engine, "test-worker")
        assert report.purged == 2, "the HTTP key and the engine's key of the same value"
        assert _keys(api) == {"young"}
        replay = http.post("/v1/cases", json=_body(2), headers={"Idempotency-Key": "young"})
        assert (replay.status_code, replay.headers.get("Idempotent-Replay")) == (201, "true")
        assert replay.json()["id"] == young.json()["id"]
        again = http.post("/v1/cases", json=_body(1), headers={"Idempotency-Key": "old"})
        assert "Idempotent-Replay" not in again.headers, "the HTTP key is gone: the request runs again"
        # the engine's own key went with it (kept 24 h too): LG-ELIG-2 still stops a second live case
        assert (again.status_code, again.json()["rule"]) == (422, "LG-ELIG-2"), again.text
    assert old.status_code == 201
    assert _cases(api) == 2


def test_a_longer_retention_replays_the_first_response_past_a_day(api: Api) -> None:
    clock = api.engine.clock
    assert isinstance(clock, ManualClock)
    with api.client("platform") as http:
        first = http.post("/v1/cases", json=_body(1), headers={"Idempotency-Key": "kept"})
        clock.advance(timedelta(hours=30))
        assert deadline_pass(api.engine, "test-worker", key_retention=timedelta(hours=48)).purged == 0
        replay = http.post("/v1/cases", json=_body(1), headers={"Idempotency-Key": "kept"})
        assert (replay.status_code, replay.headers.get("Idempotent-Replay")) == (201, "true"), replay.text
        assert replay.json() == first.json()
        clock.advance(timedelta(hours=18, seconds=1))
        assert deadline_pass(api.engine, "test-worker", key_retention=timedelta(hours=48)).purged == 2
        assert _keys(api) == set()
