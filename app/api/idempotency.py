"""``Idempotency-Key`` for HTTP requests: replay the first response, refuse a changed body or a twin in flight.

Keys are scoped per token, at most 255 characters, and kept until the worker's tick purges
them, once older than ``FILINGFLOW_IDEMPOTENCY_RETENTION_HOURS`` (at least 24; scheduler/jobs.py):
until then a replay returns the first response, whatever its age. The key is
recorded *in flight* in its own transaction before the command runs; a second request
with it gets 409 until the first finishes, then the first response (status, body,
ETag and Location) is replayed; the same key with a different request is 422. A request
that dies in flight leaves a stale marker that is taken over after a minute, and the
engine's own idempotency key (same value, same scope) makes sure the command itself
was not done twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.api.auth import Caller
from app.api.problems import ApiProblem
from app.tables import http_idempotency

STALE = timedelta(seconds=60)
MAX_KEY = 255


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any
    headers: dict[str, str]


def request_hash(method: str, path: str, body: Any, if_match: str | None) -> str:
    canonical = json.dumps([method, path, body, if_match], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiProblem(
            422,
            "invalid-input",
            "Invalid input",
            f"Idempotency-Key must be 1..{MAX_KEY} printable characters",
            field="Idempotency-Key",
        )
    return key


def begin(database: sa.Engine, caller: Caller, key: str, digest: str, now: datetime) -> StoredResponse | None:
    """Mark the key in flight, or return the stored first response; raises 409/422 problems."""
    table = http_idempotency
    where = sa.and_(table.c.token_id == caller.token_id, table.c.key == key)
    try:
        with database.begin() as conn:
            row = conn.execute(sa.select(table).where(where)).mappings().first()
            if row is None:
                conn.execute(
                    table.insert().values(
                        token_id=caller.token_id, key=key, request_hash=digest, status="in_flight", created_at=now
                    )
                )
                return None
            if row["request_hash"] != digest:
                raise ApiProblem(
                    422,
                    "idempotency-key-reused",
                    "Idempotency key used for another request",
                    "this Idempotency-Key was first used with a different request",
                    field="Idempotency-Key",
                )
            if row["status"] == "done":
                return StoredResponse(row["response_status"], row["response_body"], row["response_headers"] or {})
            if row["created_at"] > now - STALE:
                raise ApiProblem(
                    409,
                    "request-in-flight",
                    "Request in flight",
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    headers={"Retry-After": "1"},
                )
            conn.execute(table.update().where(where).values(created_at=now))
            return None
    except sa.exc.IntegrityError:
        raise ApiProblem(
            409,
            "request-in-flight",
            "Request in flight",
            "a request with this Idempotency-Key is being processed; retry shortly",
            headers={"Retry-After": "1"},
        ) from None


def finish(database: sa.Engine, caller: Caller, key: str, response: StoredResponse) -> None:
    with database.begin() as conn:
        conn.execute(
            http_idempotency.update()
            .where(http_idempotency.c.token_id == caller.token_id, http_idempotency.c.key == key)
            .values(
                status="done",
                response_status=response.status,
                response_body=response.body,
                response_headers=response.headers,
            )
        )


def abandon(database: sa.Engine, caller: Caller, key: str) -> None:
    """Forget a key whose request failed before doing anything (so a retry can run)."""
    with database.begin() as conn:
        conn.execute(
            http_idempotency.delete().where(
                http_idempotency.c.token_id == caller.token_id,
                http_idempotency.c.key == key,
                http_idempotency.c.status == "in_flight",
            )
        )
