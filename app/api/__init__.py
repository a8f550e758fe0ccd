"""The HTTP API (FastAPI), built by :func:`create_app` around a ready engine: no globals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from app.api import (
    docs,
    problems,
    routes_admin,
    routes_cases,
    routes_lists,
    routes_overview,
    routes_programs,
    routes_reports,
    schemas,
)
from app.api.auth import TokenCache
from app.api.head import HeadAsGet
from app.api.limits import BodySizeLimit
from app.api.observability import RequestIdAndAccessLog
from app.keys import ConsoleKeys
from app.metrics import Metrics, install_metrics
from workflow.engine import Engine

DESCRIPTION = """
FilingFlow drives funding-application cases through their program's process.

* **Authentication**: `Authorization: Bearer <token>` (`filingflow tokens create`). Roles: `platform`,
  `staff`, `applicant` (own cases only; others' answer 404), `admin`; a `metrics` token reads `/metrics`
  only (every route here answers it 403). A valid token is re-checked every
  2 seconds, so a revoked token stops working within 2 seconds.
* **Concurrency**: every case response carries its version as `ETag`; send it back as `If-Match`
  (required for overrides and deadline changes; a mismatch is 412, a lost race 409).
* **Retries**: `Idempotency-Key` (up to 255 characters, kept 24 h, scoped per token) is honoured on every
  POST that changes something: opening a case, events, overrides, deadline extend/suspend/resume, notice
  re-sends and batches. A replay returns the first response (`Idempotent-Replay: true`); the same key with
  another body is 422; a twin still in flight is 409. (`POST /v1/webhooks` is an admin set-up call and does
  not take one.)
* **Errors**: `application/problem+json` (RFC 9457, schema `Problem`) with a stable `type`, the `field` that
  failed and the `rule` ID where a program rule refused. A body that is not JSON (or not UTF-8) is a 422 with
  type `malformed-json`; text with NUL or lone surrogates, NaN/Infinity and nesting over 32 levels are 422
  `invalid-input` naming the field; so is a body that is not a JSON object (`field`: `body`) and a JSON object
  with a key given twice (the key is named). A body sent as anything but `application/json` is 415 naming
  `Content-Type`. Flags and counts are JSON booleans and integers, never text (`"dry_run": "false"` is 422).
  Bodies over 1 MiB (declared or chunked) are 413; page sizes are clamped to 100.
"""


def create_app(
    engine: Engine,
    *,
    sandbox: dict[str, Any] | None = None,
    console_keys: ConsoleKeys | None = None,
    console_secure_cookie: bool = False,
) -> FastAPI:
    app = FastAPI(
        responses=problems.RESPONSES,
        title="FilingFlow",
        version="1.0",
        description=DESCRIPTION,
        openapi_tags=docs.TAGS,
        docs_url=None,  # served from local assets by docs.install_docs: no CDN
        redoc_url=None,
        generate_unique_id_function=docs.operation_id,
    )
    docs.install_docs(app)
    app.state.engine = engine
    app.state.tokens = TokenCache(engine.database, engine.clock)
    app.state.sandbox = sandbox
    problems.install(app)
    schemas.document_examples(app, engine.programs)  # each program's own examples (issue 14 A)
    app.include_router(routes_cases.router)
    app.include_router(routes_programs.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_reports.router)  # redeem: money per applicant and round
    app.include_router(routes_lists.router)  # the official lists (LG-LIST-1, SZ-LIST-1)
    app.include_router(routes_overview.router)  # staff refusals per round (LG-AGENT-1, SZ-AGENT-1)
    app.add_middleware(HeadAsGet)  # innermost: the access log and the limits still see the HEAD
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestIdAndAccessLog)  # outermost: every response, errors included, carries the id
    install_metrics(app, Metrics(engine))
    if console_keys is not None:
        from app.console.routes import install

        install(app, engine, keys=console_keys, secure_cookie=console_secure_cookie)

    if sandbox is not None:
        header = f"clock-start={sandbox['clock_start']}"

        @app.middleware("http")
        async def announce_sandbox(request: Request, call_next: Any) -> Response:
            response: Response = await call_next(request)
            response.headers["X-FilingFlow-Sandbox"] = header
            return response

    return app


def sandbox_info(clock_start: datetime | None) -> dict[str, Any] | None:
    return {"clock_start": clock_start.isoformat()} if clock_start else None
