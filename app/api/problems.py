"""Errors as ``application/problem+json`` (RFC 9457), each with a stable ``type``.

Every engine error maps to one status and type; the body carries the field that failed
validation, the rule ID where a guard refused, and the case and event concerned; an engine
error also carries ``detail_zh``, the same in zh-CN (:mod:`app.console.zh`) for a reviewer or
applicant, while ``detail`` stays English for logs and integrators. No
input reaches a 500: a body that is not JSON (or not UTF-8, or nested too deep for the
parser) is a 422 of type ``malformed-json``; a body that parses but breaks a field's
rules is a 422 of type ``invalid-input`` naming the field. Both, and every other error
status, are documented in the OpenAPI spec with the :class:`~app.api.schemas.Problem` schema.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api.schemas import BodyRefused, Problem
from app.console import zh
from app.console.labels import ProcessLabels
from workflow import errors as e
from workflow.schema import SchemaOutOfDate

log = logging.getLogger("filingflow.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://filingflow.example/problems/"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PARSE_FAILED = "There was an error parsing the body"  # FastAPI's words when json.loads fails otherwise
MALFORMED = "the request body is not valid JSON (UTF-8, at most a few hundred levels deep)"

RETRY_LATER = {"Retry-After": "5"}
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

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
    (e.StorageUnavailable, 503, "storage-unavailable", "The database failed; nothing was changed"),
    (SchemaOutOfDate, 503, "schema-out-of-date", "Database schema out of date"),
)


def _example(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"value": {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail, **extra}}


def problem_response(description: str, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response entry whose body is a :class:`Problem`."""
    content: dict[str, Any] = {"schema": PROBLEM_REF}
    if examples:
        content["examples"] = examples
    return {"description": description, "content": {PROBLEM: content}}


# the error statuses every operation documents (create_app passes them as app-wide responses)
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("No or an unknown bearer token"),
    403: problem_response("The token's role may not do this"),
    404: problem_response("No such case (or not the caller's)"),
    409: problem_response("Stale version, event not allowed in the current state, or a twin request in flight"),
    412: problem_response("If-Match missing where required, or not the case's version"),
    413: problem_response("Body over 1 MiB"),
    415: problem_response("A body not sent as `application/json` (names the `field` `Content-Type`)"),
    422: problem_response(
        "Bad input (`invalid-input`, names the `field`), a program rule refused (`rule-refused`, names the "
        "`rule`), or a body that is not JSON (`malformed-json`)",
        {
            "invalid-input": _example(
                422, "invalid-input", "Invalid input", "applicant.code: check digit is wrong", field="applicant.code"
            ),
            "rule-refused": _example(
                422,
                "rule-refused",
                "A program rule refused the request",
                "online submission closed on 2025-09-13 (LG-WIN-1)",
                rule="LG-WIN-1",
                case_id=1,
                event="submit",
            ),
            "malformed-json": _example(422, "malformed-json", "Malformed JSON", MALFORMED),
        },
    ),
    429: problem_response("Too many notice re-sends for this case"),
    503: problem_response("Database unreachable, busy, or its schema out of date"),
}


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


def _names(request: Request, case_id: int | None) -> zh.Names:
    """The zh-CN labels of the case's program for ``detail_zh`` (its keys when there is no case to read)."""
    engine = getattr(request.app.state, "engine", None)
    if engine is None or case_id is None:
        return zh.RawNames()
    try:
        case = engine.get_case(case_id)
        return ProcessLabels.of(engine.programs.get(case.program, case.program_version).definition)
    except (e.FilingFlowError, sa.exc.SQLAlchemyError):
        return zh.RawNames()


async def engine_error(request: Request, exc: e.FilingFlowError) -> JSONResponse:
    status, slug, title = next(
        ((status, slug, title) for cls, status, slug, title in MAPPING if isinstance(exc, cls)),
        (422, "invalid-input", "Invalid input"),
    )
    return problem(
        status,
        slug,
        title,
        exc.message,
        RETRY_LATER if status == 503 else None,
        detail_zh=zh.error(exc, _names(request, None if status == 503 else exc.case_id)),
        field=exc.field,
        rule=exc.rule,
        case_id=exc.case_id,
        event=exc.event,
        instance=request.url.path,
    )


async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem(exc.status, exc.slug, exc.title, exc.detail, exc.headers, instance=request.url.path, **exc.extra)


def json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json`` (parameters aside): the only bodies the API reads."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return problem(422, "malformed-json", "Malformed JSON", MALFORMED, instance=request.url.path)
    cause = first.get("ctx", {}).get("error")
    if tuple(first.get("loc", ())) == ("body",) and not isinstance(cause, BodyRefused):
        return _whole_body(request, first)  # the body as a whole: absent, not an object, or not JSON at all
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    message = first.get("msg", "invalid input")
    if isinstance(cause, BodyRefused):  # the path inside the body that the walk found
        location = [*location, cause.field] if cause.field else location
        message = str(cause)
    field = ".".join(location) or None
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        f"{field}: {message}" if field else message,
        field=field,
        instance=request.url.path,
    )


def _whole_body(request: Request, error: Any) -> JSONResponse:
    """A body FastAPI could not take as an object: 415 naming ``Content-Type`` when it was not sent as
    JSON (FastAPI then never parses it), else 422 naming ``body``; never a 422 that names nothing."""
    content_type = request.headers.get("content-type")
    if error.get("input") not in (None, {}) and not json_media_type(content_type):
        detail = f"the body must be sent as application/json, not {(content_type or 'no Content-Type')[:60]!r}"
        return problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
            field="Content-Type",
            instance=request.url.path,
        )
    missing = error.get("type") == "missing"
    detail = "body: a JSON object is required" if missing else "body: must be a JSON object"
    return problem(422, "invalid-input", "Invalid input", detail, field="body", instance=request.url.path)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and exc.detail == PARSE_FAILED:  # bad UTF-8, or nested beyond the parser
        return problem(422, "malformed-json", "Malformed JSON", MALFORMED, instance=request.url.path)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # Starlette names only the first route of the path; list them all
        headers = {**(headers or {}), "Allow": ", ".join(_methods_of(request))}
    return problem(
        exc.status_code,
        slug,
        str(exc.detail),
        str(exc.detail),
        headers=headers,
        instance=request.url.path,
    )


async def database_down(request: Request, exc: sa.exc.DBAPIError) -> JSONResponse:
    log.warning("database failed on %s %s: %s", request.method, request.url.path, exc.orig)
    return problem(
        503,
        "storage-unavailable",
        "The database failed; nothing was changed",
        "the database could not answer; try again shortly",
        RETRY_LATER,
        instance=request.url.path,
    )


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "an unexpected error was logged; nothing was changed",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem, and document them."""
    app.add_exception_handler(e.FilingFlowError, engine_error)  # type: ignore[arg-type]
    app.add_exception_handler(ApiProblem, api_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(sa.exc.OperationalError, database_down)  # type: ignore[arg-type]
    app.add_exception_handler(sa.exc.InterfaceError, database_down)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
    document(app)


def _methods_of(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path (asked of the router itself)."""
    routes = request.app.router.routes
    served = [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    if "GET" in served and "HEAD" not in served:  # app.api.head answers HEAD wherever GET is served
        served.insert(served.index("GET") + 1, "HEAD")
    return served


def document(app: FastAPI) -> None:
    """Add the :class:`Problem` schema to the spec: FastAPI only lists models that routes return."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
