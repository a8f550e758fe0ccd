"""Errors as ``application/problem+json`` (RFC 9457), each with a stable ``type``.

Every engine error maps to one status and type; the body carries the field that failed
validation, the rule ID where a guard refused, and the case and event concerned. No
input reaches a 500: malformed JSON is a 422 ``invalid-input`` like any bad field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow import errors as e
from workflow.schema import SchemaOutOfDate

log = logging.getLogger("filingflow.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://filingflow.example/problems/"

# error class -> (status, type slug, title); the first matching class in order wins
MAPPING: tuple[tuple[type[Exception], int, str, str], ...] = (
    (e.CaseNotFound, 404, "not-found", "No such case"),
    (e.DeadlineNotFound, 404, "not-found", "No such deadline"),
    (e.UnknownProgram, 422, "unknown-program", "Unknown program"),
    (e.UnknownEvent, 422, "unknown-event", "Unknown event"),
    (e.UnknownState, 422, "unknown-state", "Unknown state"),
    (e.NotPermitted, 403, "forbidden", "Not allowed for this role"),
    (e.GuardRefused, 422, "rule-refused", "A program rule refused the request"),
    (e.TransitionNotAllowed, 409, "transition-not-allowed", "Event not allowed in the current state"),
    (e.ConflictError, 409, "stale-version", "The case changed since it was read"),
    (e.IdempotencyKeyReused, 422, "idempotency-key-reused", "Idempotency key used for another request"),
    (e.InvalidInput, 422, "invalid-input", "Invalid input"),
    (e.CalendarYearUnknown, 422, "calendar-unknown", "No working-day data for that year"),
    (SchemaOutOfDate, 503, "schema-out-of-date", "Database schema out of date"),
)


class ApiProblem(Exception):
    """A problem raised by the HTTP layer itself (auth, preconditions, limits)."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.FilingFlowError)
    async def engine_error(request: Request, exc: e.FilingFlowError) -> JSONResponse:
        status, slug, title = next(
            ((status, slug, title) for cls, status, slug, title in MAPPING if isinstance(exc, cls)),
            (422, "invalid-input", "Invalid input"),
        )
        return problem(
            status, slug, title, exc.message, field=exc.field, rule=exc.rule, case_id=exc.case_id, event=exc.event
        )

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
        field = ".".join(location) or None
        if first.get("type") == "json_invalid":
            return problem(422, "malformed-json", "Malformed JSON", "the request body is not valid JSON")
        message = first.get("msg", "invalid input")
        return problem(422, "invalid-input", "Invalid input", f"{field}: {message}" if field else message, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal-error", "Internal error", "an unexpected error was logged; nothing was changed")
