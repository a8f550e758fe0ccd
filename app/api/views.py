"""Turn engine snapshots into API bodies (shared by routes and the console)."""

from __future__ import annotations

from typing import Any

from app.api.auth import Caller, ensure_visible
from workflow.engine import Engine
from workflow.money import fen_to_yuan
from workflow.views import DeadlineView


def deadline_out(d: DeadlineView) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "rule": d.rule,
        "label": d.label,
        "status": d.status,
        "due_at": d.due_at,
        "started_at": d.started_at,
        "working_days": d.working_days,
        "estimated": d.estimated,
        "ledger": list(d.ledger),
    }


def case_out(engine: Engine, case_id: int, caller: Caller) -> dict[str, Any]:
    """The API's view of a case for this caller, from one read; another applicant's case is 404."""
    inspection = engine.inspect(case_id, actor=caller.actor())
    case, options, amount = ensure_visible(caller, inspection.case), inspection.options, inspection.amount
    definition = engine.programs.get(case.program, case.program_version).definition
    return {
        "id": case.id,
        "program": case.program,
        "program_version": case.program_version,
        "state": case.state,
        "state_label": case.state_label,
        "final": case.final,
        "version": case.version,
        "applicant": {
            "name": case.applicant.name,
            "code": case.applicant.code,
            "email": case.applicant.email,
            "phone": case.applicant.phone,
        },
        "data": case.data,
        "amount": {"fen": amount.fen, "yuan": fen_to_yuan(amount.fen), "steps": list(amount.steps)} if amount else None,
        "materials": definition.checklist(case.data, case.applicant.code),
        "deadlines": [deadline_out(d) for d in case.deadlines],
        "events": [
            {
                "event": o.name,
                "label": o.label,
                "target": o.target,
                "allowed": o.allowed,
                "requires": list(o.requires),
                "refusal": {"rule": o.refusal.rule, "reason": o.refusal.reason, "field": o.refusal.field}
                if o.refusal
                else None,
            }
            for o in options
        ],
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "submitted_at": case.submitted_at,
    }
