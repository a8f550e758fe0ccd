"""``/v1/cases``: open, read, list, fire events, override, deadlines, audit trail, notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response

from app.api import schemas
from app.api.auth import Caller
from app.api.deps import (
    CallerDep,
    EngineDep,
    IdempotencyKey,
    check_if_match,
    etag,
    parse_if_match,
    require_role,
    run_idempotent,
    visible_case,
)
from app.api.encoding import JsonBody
from app.api.problems import ApiProblem
from app.api.views import case_out, deadline_out
from app.parsing import NotAnInstant, instant
from workflow import read_model
from workflow.engine import Engine
from workflow.errors import RateLimited
from workflow.views import DeadlineView

router = APIRouter(prefix="/v1", tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Case id")]
DeadlineId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Deadline id")]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=64, description="The case's ETag (version)")]
MAX_PAGE = 100
RESENDS_PER_HOUR = 3


def _case_response(status: int, body: dict[str, Any], *, location: bool = False) -> tuple[int, Any, dict[str, str]]:
    headers = {"ETag": etag(body["version"])}
    if location:
        headers["Location"] = f"/v1/cases/{body['id']}"
    return status, body, headers


@router.post("/cases", status_code=201, response_model=schemas.CaseOut)
def create_case(
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    body: Annotated[schemas.CaseCreate, Body(openapi_examples=schemas.CASE_CREATE_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Open a case in the program's first state (platform and admin tokens)."""
    require_role(caller, "platform", "admin")

    def action() -> tuple[int, Any, dict[str, str]]:
        case = engine.open_case(
            body.program,
            applicant=body.applicant.model_dump(),
            data=body.data,
            actor=caller.actor(),
            idempotency_key=idempotency_key,
        )
        return _case_response(201, case_out(engine, case.id, caller), location=True)

    return run_idempotent(
        engine, caller, request, key=idempotency_key, body=body.model_dump(), if_match=None, action=action
    )


@router.get("/cases/{case_id}", response_model=schemas.CaseOut)
def read_case(case_id: CaseId, engine: EngineDep, caller: CallerDep) -> Response:
    """A case with its state, version (also the ETag), deadlines, amount, materials and the caller's options."""
    body = case_out(engine, case_id, caller)
    return JsonBody(body, headers={"ETag": etag(body["version"])})


@router.get("/cases", response_model=schemas.CasePage)
def list_cases(
    engine: EngineDep,
    caller: CallerDep,
    program: Annotated[str | None, Query(max_length=80)] = None,
    state: Annotated[str | None, Query(max_length=60)] = None,
    applicant_code: Annotated[str | None, Query(max_length=40)] = None,
    due_before: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Has an open deadline due before this instant (RFC 3339, with offset)",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    limit: Annotated[int, Query(description=f"Page size, clamped to 1..{MAX_PAGE}")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Cases, filtered and paginated (an applicant sees only its own)."""
    limit = max(1, min(limit, MAX_PAGE))
    query = read_model.CaseQuery(
        program=program or None,
        state=state or None,
        applicant_code=caller.applicant_code if caller.role == "applicant" else applicant_code or None,
        due_before=_query_instant(due_before, field="due_before") if due_before is not None else None,
        limit=limit,
        offset=offset,
    )
    rows, total = read_model.case_page(engine.database, query)
    return {"items": [_listed(engine, row) for row in rows], "total": total, "limit": limit, "offset": offset}


def _listed(engine: Engine, row: dict[str, Any]) -> dict[str, Any]:
    """A case as ``GET /v1/cases`` lists it, its state labelled by its own program version."""
    process = engine.programs.get(row["program_key"], row["program_version"])
    return {
        "id": row["id"],
        "program": row["program_key"],
        "state": row["state"],
        "state_label": process.states[row["state"]].label if row["state"] in process.states else row["state"],
        "version": row["version"],
        "applicant_name": row["applicant_name"],
        "applicant_code": row["applicant_code"],
        "amount_fen": row["amount_fen"],
        "submitted_at": row["submitted_at"],
        "next_due_at": row["next_due"],
    }


def _query_instant(raw: str, *, field: str) -> datetime:
    """A query parameter's RFC 3339 instant (strict: never a number read as a Unix time), in UTC."""
    try:
        return _instant(instant(raw, field=field), field=field)
    except NotAnInstant as exc:
        raise ApiProblem(422, "invalid-input", "Invalid input", str(exc), field=field) from None


def _instant(value: datetime, *, field: str) -> datetime:
    """An aware instant in UTC; 422 naming ``field`` when naive or outside the years 1..9999 once in UTC."""
    if value.tzinfo is None:
        raise ApiProblem(422, "invalid-input", "Invalid input", f"{field} needs a UTC offset", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ApiProblem(
            422, "invalid-input", "Invalid input", f"{field} is out of range once converted to UTC", field=field
        ) from None


@router.post("/cases/{case_id}/events", response_model=schemas.CaseOut)
def fire_event(
    case_id: CaseId,
    body: schemas.EventIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Fire an event; ``If-Match`` (optional) guards against acting on a stale version."""

    def action() -> tuple[int, Any, dict[str, str]]:
        expected = parse_if_match(if_match, required=False)
        version = None  # without If-Match the engine's own version check still turns a lost race into 409
        if expected is not None or caller.role == "applicant":
            case = visible_case(engine, caller, case_id)
            check_if_match(case, expected)
            version = case.version
        engine.fire(
            case_id,
            body.event,
            actor=caller.actor(),
            payload=body.payload,
            expected_version=version,
            idempotency_key=idempotency_key,
        )
        return _case_response(200, case_out(engine, case_id, caller))

    return run_idempotent(
        engine, caller, request, key=idempotency_key, body=body.model_dump(), if_match=if_match, action=action
    )


@router.post("/cases/{case_id}/override", response_model=schemas.OverrideOut)
def override(
    case_id: CaseId,
    body: schemas.OverrideIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Staff force a case into any state, with a reason (``dry_run`` reports without doing). Needs If-Match."""
    require_role(caller, "staff", "admin")

    def action() -> tuple[int, Any, dict[str, str]]:
        case = visible_case(engine, caller, case_id)
        check_if_match(case, parse_if_match(if_match, required=True))
        outcome = engine.override(
            case_id,
            body.target_state,
            actor=caller.actor(),
            reason=body.reason,
            expected_version=case.version,
            dry_run=body.dry_run,
            idempotency_key=idempotency_key,  # also in the command's commit
        )
        payload = {
            "case_id": outcome.case_id,
            "from_state": outcome.from_state,
            "to_state": outcome.to_state,
            "dry_run": outcome.dry_run,
            "version": outcome.version,
            "deadlines_closed": list(outcome.deadlines_closed),
            "deadlines_opened": list(outcome.deadlines_opened),
            "notices": list(outcome.notices),
        }
        return 200, payload, {"ETag": etag(outcome.version)}

    return run_idempotent(
        engine, caller, request, key=idempotency_key, body=body.model_dump(), if_match=if_match, action=action
    )


def _deadline_change(
    request: Request,
    engine: Engine,
    caller: Caller,
    *,
    case_id: int,
    body: schemas.Strict,
    if_match: str | None,
    idempotency_key: str | None,
    command: Callable[[int], DeadlineView],
) -> Response:
    """Staff only, If-Match required; ``command`` runs with the version If-Match named."""
    require_role(caller, "staff", "admin")

    def action() -> tuple[int, Any, dict[str, str]]:
        case = visible_case(engine, caller, case_id)
        check_if_match(case, parse_if_match(if_match, required=True))
        return 200, deadline_out(command(case.version)), {}

    return run_idempotent(
        engine, caller, request, key=idempotency_key, body=body.model_dump(), if_match=if_match, action=action
    )


@router.post("/cases/{case_id}/deadlines/{deadline_id}/extend", response_model=schemas.DeadlineOut)
def extend_deadline(
    case_id: CaseId,
    deadline_id: DeadlineId,
    body: schemas.ExtendIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Give more time: ``working_days`` more, or until ``to_date`` (staff; If-Match required)."""
    return _deadline_change(
        request,
        engine,
        caller,
        case_id=case_id,
        body=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        command=lambda version: engine.extend_deadline(
            case_id,
            deadline_id,
            actor=caller.actor(),
            reason=body.reason,
            working_days=body.working_days,
            to_date=body.to_date,
            expected_version=version,
        ),
    )


@router.post("/cases/{case_id}/deadlines/{deadline_id}/suspend", response_model=schemas.DeadlineOut)
def suspend_deadline(
    case_id: CaseId,
    deadline_id: DeadlineId,
    body: schemas.ReasonIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Stop a deadline's clock (staff; If-Match required)."""
    return _deadline_change(
        request,
        engine,
        caller,
        case_id=case_id,
        body=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        command=lambda version: engine.suspend_deadline(
            case_id, deadline_id, actor=caller.actor(), reason=body.reason, expected_version=version
        ),
    )


@router.post("/cases/{case_id}/deadlines/{deadline_id}/resume", response_model=schemas.DeadlineOut)
def resume_deadline(
    case_id: CaseId,
    deadline_id: DeadlineId,
    body: schemas.ReasonIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Restart a suspended deadline (staff; If-Match required)."""
    return _deadline_change(
        request,
        engine,
        caller,
        case_id=case_id,
        body=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        command=lambda version: engine.resume_deadline(
            case_id, deadline_id, actor=caller.actor(), reason=body.reason, expected_version=version
        ),
    )


@router.get("/cases/{case_id}/audit", response_model=list[schemas.AuditOut])
def audit_trail(case_id: CaseId, engine: EngineDep, caller: CallerDep) -> list[dict[str, Any]]:
    """The case's audit events, oldest first."""
    visible_case(engine, caller, case_id)
    return [{k: getattr(entry, k) for k in schemas.AuditOut.model_fields} for entry in engine.history(case_id)]


@router.get("/cases/{case_id}/notices", response_model=list[schemas.NoticeOut])
def case_notices(case_id: CaseId, engine: EngineDep, caller: CallerDep) -> list[dict[str, Any]]:
    """Notices queued for the case and their delivery status."""
    visible_case(engine, caller, case_id)
    hidden = "staff" if caller.role == "applicant" else None
    rows = read_model.case_notices(engine.database, case_id, without_channel="webhook", without_recipient=hidden)
    return [{k: row[k] for k in schemas.NoticeOut.model_fields} for row in rows]


@router.post("/cases/{case_id}/notices/{notice_id}/resend", status_code=202, response_model=schemas.NoticeOut)
def resend_notice(
    case_id: CaseId,
    notice_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Queue a notice again (staff and platform); at most 3 re-sends per case per hour (SMS cost)."""
    require_role(caller, "staff", "admin", "platform")

    def action() -> tuple[int, Any, dict[str, str]]:
        visible_case(engine, caller, case_id)
        return 202, resend(engine, caller, case_id=case_id, notice_id=notice_id), {}

    return run_idempotent(engine, caller, request, key=idempotency_key, body=None, if_match=None, action=action)


def resend(engine: Engine, caller: Caller, *, case_id: int, notice_id: int) -> dict[str, Any]:
    """Queue a copy of a notice, within the per-case hourly limit (the engine's audited command)."""
    try:
        row = engine.resend_notice(case_id, notice_id=notice_id, actor=caller.actor(), per_hour=RESENDS_PER_HOUR)
    except RateLimited as exc:
        raise ApiProblem(
            429,
            "too-many-resends",
            "Too many re-sends",
            exc.message,
            headers={"Retry-After": str(exc.retry_after_seconds)},
            case_id=case_id,
        ) from exc
    return {k: row[k] for k in schemas.NoticeOut.model_fields}
