"""Dependencies of the API routes: the engine, the calling token, preconditions, idempotent execution."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api import auth, idempotency
from app.api.encoding import JsonBody, dumps
from app.api.problems import ApiProblem
from app.parsing import DB_INT_MAX, whole
from workflow.engine import Engine
from workflow.errors import FilingFlowError
from workflow.views import CaseSnapshot


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]
# Declares the `bearer` security scheme (Swagger UI's Authorize button); a missing or non-Bearer header is our 401.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="`filingflow tokens create` prints one")


def bearer_caller(request: Request, credentials: HTTPAuthorizationCredentials | None) -> auth.Caller:
    """The caller a bearer token stands for; 401 when there is none, or it is unknown or revoked."""
    tokens: auth.TokenCache = request.app.state.tokens
    caller = tokens.resolve(credentials.credentials.strip()) if credentials is not None else None
    if caller is None:
        raise ApiProblem(
            401,
            "unauthenticated",
            "Authentication required",
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
            field="Authorization",
        )
    return caller


def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    x_calling_system: Annotated[str | None, Header(max_length=100, description="Recorded in the audit")] = None,
) -> auth.Caller:
    caller = bearer_caller(request, credentials)
    if caller.role == "metrics":  # a scraper's token reads /metrics only, never a case (least privilege)
        require_role(caller, *auth.CASE_ROLES)
    via = "http" if not x_calling_system else f"http:{''.join(ch for ch in x_calling_system if ch.isprintable())}"
    return auth.Caller(caller.token_id, caller.name, caller.role, caller.applicant_code, via[:100])


CallerDep = Annotated[auth.Caller, Depends(get_caller)]


def metrics_reader(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> auth.Caller:
    """``/metrics`` is for a ``metrics`` (or ``admin``) token only: it tells outbox depth, refusal counts and
    worker health, which an outsider may use to time an attack, so it is closed unless a token is made."""
    caller = bearer_caller(request, credentials)
    require_role(caller, *auth.METRICS_ROLES)
    return caller


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Replays the first response for 24 h (per token); another body is 422, a twin in flight 409",
    ),
]


def require_role(caller: auth.Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise ApiProblem(
            403,
            "forbidden",
            "Not allowed for this role",
            f"role {caller.role!r} may not do this (allowed: {', '.join(roles)})",
            field="role",
        )


def visible_case(engine: Engine, caller: auth.Caller, case_id: int) -> CaseSnapshot:
    """The case if this caller may see it; another applicant's case is 404, never 403."""
    return auth.ensure_visible(caller, engine.get_case(case_id))


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    """The version an ``If-Match`` names (``"3"``, ``W/"3"`` or ``3``); 412 when missing but required."""
    if value is None or not value.strip():
        if required:
            raise ApiProblem(
                412,
                "precondition-required",
                "If-Match required",
                "send If-Match with the case's ETag (its version)",
                field="If-Match",
            )
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if raw == "*":
        return None
    version = whole(raw, maximum=DB_INT_MAX)
    if version is None:
        raise ApiProblem(
            412,
            "precondition-failed",
            "If-Match does not match",
            f"If-Match {value!r} is not a case version",
            field="If-Match",
        )
    return version


def check_if_match(case: CaseSnapshot, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise ApiProblem(
            412,
            "precondition-failed",
            "If-Match does not match",
            f"case {case.id} is at version {case.version}, not {expected}",
            field="If-Match",
            case_id=case.id,
        )


def run_idempotent(
    engine: Engine,
    caller: auth.Caller,
    request: Request,
    *,
    key: str | None,
    body: Any,
    if_match: str | None,
    action: Callable[[], tuple[int, Any, dict[str, str]]],
) -> Response:
    """Run ``action`` once per Idempotency-Key; replays return the first response."""
    key = idempotency.check_key(key)
    if key is None:
        status, payload, headers = action()
        return JsonBody(dumps(payload), status_code=status, headers=headers)
    digest = idempotency.request_hash(request.method, request.url.path, body, if_match)
    stored = idempotency.begin(engine.database, caller, key, digest, engine.clock.now())
    if stored is not None:
        return JsonBody(stored.body, status_code=stored.status, headers={**stored.headers, "Idempotent-Replay": "true"})
    try:
        status, payload, headers = action()
    except (FilingFlowError, ApiProblem):
        idempotency.abandon(engine.database, caller, key)  # refused: nothing done, a corrected retry may run
        raise
    except BaseException:
        raise  # unknown outcome: the key stays in flight until stale; the engine key prevents a double
    encoded = dumps(payload)
    idempotency.finish(engine.database, caller, key, idempotency.StoredResponse(status, json.loads(encoded), headers))
    return JsonBody(encoded, status_code=status, headers=headers)
