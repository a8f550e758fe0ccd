"""The console's case page and its actions: fire an event, override the state, change a deadline."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, Response

from app.console import forms, labels, zh
from app.console.flowchart import flowchart
from app.console.numbers import optional_number
from app.console.sessions import Session
from app.console.web import Console, ConsoleDenied, ConsoleDep, Posted, PostedDep, SessionDep
from app.parsing import DB_INT_MAX
from workflow import read_model
from workflow.deadline_commands import DeadlineExplanation
from workflow.diagram import mermaid
from workflow.errors import FilingFlowError, NotFound

router = APIRouter(prefix="/console", include_in_schema=False)
CaseId = Annotated[int, FastApiPath(ge=1, le=DB_INT_MAX)]  # a 30-digit id is a 422, not a database overflow


def case_view(
    console: Console, session: Session, case_id: int, *, request: Request | None = None, status: int = 200, **extra: Any
) -> HTMLResponse:
    """The case page: state, flow, amount, materials, actions, deadlines, audit timeline, notices."""
    engine = console.engine
    try:
        case = engine.get_case(case_id)
    except NotFound as exc:
        raise ConsoleDenied(404, str(exc)) from None
    process = engine.programs.get(case.program, case.program_version)
    explanations: dict[int, DeadlineExplanation] = {e.deadline.id: e for e in engine.explain_deadlines(case_id)}
    return console.render(
        "case.html.j2",
        session,
        request,
        status=status,
        case=case,
        process=process,
        names=labels.ProcessLabels.of(process.definition),
        amount=engine.explain_amount(case_id),
        materials=process.definition.checklist(case.data, case.applicant.code),
        history=engine.history(case_id),
        notices=read_model.case_notices(engine.database, case_id),
        options=engine.available_events(case_id, actor=session.caller.actor()),
        explanations=explanations,
        flow=flowchart(process.definition, current=case.state),
        diagram=mermaid(process.definition, current=case.state),
        fields=forms.forms(process.definition),
        deadline_labels={d.key: d.label for d in process.definition.deadlines},
        **extra,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, console: ConsoleDep, session: SessionDep, case_id: CaseId) -> Response:
    return case_view(console, session, case_id, request=request)


@router.post("/cases/{case_id}/events")
def fire(console: ConsoleDep, posted: PostedDep, case_id: CaseId) -> Response:
    """Fire an event with the payload its generic form carries (:mod:`app.console.forms`)."""
    engine, event = console.engine, posted.text("event")
    try:
        case = engine.get_case(case_id)
    except FilingFlowError as exc:
        return console.back(f"/console/cases/{case_id}", error=zh.error(exc, zh.RawNames()))
    process = engine.programs.get(case.program, case.program_version)
    payload = forms.payload(process.events.get(event), posted)
    version = optional_number(posted, "version")
    try:
        engine.fire(case_id, event, actor=posted.session.caller.actor(), payload=payload, expected_version=version)
    except FilingFlowError as exc:
        return console.back(f"/console/cases/{case_id}", error=zh.error(exc, console.names_of_case(case_id)))
    names = labels.ProcessLabels.of(process.definition)
    return console.back(f"/console/cases/{case_id}", ok=f"已执行：{names.event(event)}（{event}）")


@router.post("/cases/{case_id}/override")
def override(console: ConsoleDep, posted: PostedDep, case_id: CaseId) -> Response:
    """Preview (dry run) or confirm a state override; a refusal or preview answers with the case page itself."""
    engine, session = console.engine, posted.session
    target, reason = posted.text("target"), posted.text("reason")
    version = optional_number(posted, "version")
    preview = posted.text("action") != "confirm"
    shown = {"target": target, "reason": reason}
    try:
        outcome = engine.override(
            case_id, target, actor=session.caller.actor(), reason=reason, expected_version=version, dry_run=preview
        )
    except FilingFlowError as exc:
        error = zh.error(exc, console.names_of_case(case_id))
        return case_view(console, session, case_id, status=422, override_error=error, override_form=shown)
    if preview:
        return case_view(console, session, case_id, preview=outcome, override_form=shown)
    names = console.names_of_case(case_id)
    moved = f"{names.state(outcome.from_state)} → {names.state(outcome.to_state)}"
    return console.back(f"/console/cases/{case_id}", ok=f"已调整状态：{moved}")


DEADLINE_DONE = {"extend": "已延长", "suspend": "已暂停计时", "resume": "已恢复计时"}


def _change_deadline(console: Console, posted: Posted, case_id: int, deadline_id: int, action: str) -> None:
    engine, reason, actor = console.engine, posted.text("reason"), posted.session.caller.actor()
    if action == "extend":
        days, until = optional_number(posted, "working_days", maximum=3650), posted.text("to_date")
        engine.extend_deadline(
            case_id,
            deadline_id,
            actor=actor,
            reason=reason,
            working_days=days,
            to_date=date.fromisoformat(until) if until else None,
        )
    elif action == "suspend":
        engine.suspend_deadline(case_id, deadline_id, actor=actor, reason=reason)
    else:
        engine.resume_deadline(case_id, deadline_id, actor=actor, reason=reason)


@router.post("/cases/{case_id}/deadlines/{deadline_id}/{action}")
def deadline(console: ConsoleDep, posted: PostedDep, case_id: CaseId, deadline_id: CaseId, action: str) -> Response:
    if action not in DEADLINE_DONE:
        raise ConsoleDenied(404, "no such action")
    try:
        _change_deadline(console, posted, case_id, deadline_id, action)
    except FilingFlowError as exc:
        return console.back(f"/console/cases/{case_id}", error=zh.error(exc, console.names_of_case(case_id)))
    except ValueError as exc:  # a to_date that is not a date
        return console.back(f"/console/cases/{case_id}", error=f"日期格式有误（字段 to_date，应为 YYYY-MM-DD）：{exc}")
    return console.back(f"/console/cases/{case_id}", ok=f"期限{DEADLINE_DONE[action]}。")
