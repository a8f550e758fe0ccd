"""``/v1/programs``: the program rounds with their states, events, materials and diagram."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from app.api import schemas
from app.api.deps import CallerDep, EngineDep, IdempotencyKey, require_role, run_idempotent
from app.api.problems import ApiProblem, problem_response
from workflow.diagram import mermaid
from workflow.errors import UnknownProgram
from workflow.process import CompiledProcess

router = APIRouter(prefix="/v1", tags=["programs"])


def program_out(process: CompiledProcess) -> dict[str, Any]:
    d = process.definition
    return {
        "key": d.key,
        "version": d.version,
        "title": d.title,
        "title_en": d.title_en,
        "states": [{"key": s.key, "label": s.label, "label_en": s.label_en, "final": s.final} for s in d.states],
        "events": [
            {
                "name": e.name,
                "label": e.label,
                "sources": list(e.sources),
                "target": e.target,
                "roles": sorted(e.roles),
                "rules": [g.rule for g in e.guards],
                "requires": list(e.requires),
                "payload": [dataclasses.asdict(f) for f in e.payload],  # what the event takes, from the definition
            }
            for e in d.events
        ],
        "materials": d.checklist({}),
        "deadlines": [
            {
                "key": r.key,
                "rule": r.rule,
                "label": r.label,
                "working_days": r.working_days,
                "due": r.due.isoformat() if r.due else None,
                "on_expiry": r.on_expiry,
                "reminders": [rung.key for rung in r.reminders],
            }
            for r in d.deadlines
        ],
        "reference": dict(d.reference),
        "diagram": mermaid(d),
    }


@router.get("/programs", response_model=list[schemas.ProgramOut])
def list_programs(engine: EngineDep, caller: CallerDep) -> list[dict[str, Any]]:
    """The newest version of every program round."""
    return [program_out(p) for p in engine.programs.latest()]


@router.get(
    "/programs/{key}",
    response_model=schemas.ProgramOut,
    responses={404: problem_response("Unknown program")},
)
def read_program(key: Annotated[str, Path(max_length=80)], engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """One program round's definition, as data and as a Mermaid diagram."""
    try:
        return program_out(engine.programs.get(key))
    except UnknownProgram:
        raise ApiProblem(404, "not-found", "No such program", f"unknown program {key!r}", field="key") from None


@router.post(
    "/programs/{key}/batches", response_model=schemas.BatchOut, responses={404: problem_response("Unknown program")}
)
def advance_batch(
    key: Annotated[str, Path(max_length=80)],
    body: schemas.BatchIn,
    request: Request,
    engine: EngineDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Staff advance the next ``count`` cases of a stage in submission order (SZ-FLOW-3)."""
    require_role(caller, "staff", "admin")
    try:
        engine.programs.get(key)  # a program named in the path that does not exist is 404, like a missing case
    except UnknownProgram:
        raise ApiProblem(404, "not-found", "No such program", f"unknown program {key!r}", field="key") from None

    def action() -> tuple[int, Any, dict[str, str]]:
        outcome = engine.advance_batch(key, body.event, count=body.count, actor=caller.actor())
        return 200, {"advanced": list(outcome.advanced), "stopped_at": outcome.stopped_at, "reason": outcome.reason}, {}

    return run_idempotent(
        engine, caller, request, key=idempotency_key, body=body.model_dump(), if_match=None, action=action
    )
