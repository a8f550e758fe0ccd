"""The console's work queue: filters, counts, paging, and batch events on a selection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console import labels, queries, zh
from app.console.numbers import number, working_days
from app.console.sessions import CONSOLE_ROLES
from app.console.web import Console, ConsoleDep, PostedDep, SessionDep
from workflow.definition import Event
from workflow.errors import FilingFlowError
from workflow.process import CompiledProcess

router = APIRouter(prefix="/console", include_in_schema=False)


def batch_events(process: CompiledProcess) -> list[Event]:
    """Staff events a selection can take at once: those that need no per-case reason or document."""
    return [e for e in process.definition.events if e.roles & set(CONSOLE_ROLES) and not e.requires]


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(session: SessionDep) -> Response:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    program_key: Annotated[str | None, Query(alias="program", max_length=80)] = None,
    state: Annotated[str | None, Query(max_length=60)] = None,
    due_within: Annotated[str | None, Query(max_length=3, description="working days, blank for any")] = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: str = "submitted",
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    process = console.program(program_key)
    f = queries.QueueFilter(
        process.key,
        state or None,
        working_days(due_within),
        overdue,
        q or None,
        "due" if sort == "due" else "submitted",
        page,
    )
    rows, total = queries.queue(console.engine, f)
    return console.render(
        "queue.html.j2",
        session,
        request,
        process=process,
        f=f,
        rows=rows,
        total=total,
        counts=queries.state_counts(console.engine, process.key),
        page_size=queries.PAGE,
        staff_events=batch_events(process),
    )


def _refusal(console: Console, process: CompiledProcess, event: str, selected: list[int]) -> str | None:
    """Why a selection cannot be batched (nothing chosen, an event needing a reason, unknown or foreign cases)."""
    if not selected:
        return "请先勾选案件。"
    if event not in {e.name for e in batch_events(process)}:
        return f"事件 {event!r} 不能批量执行（需逐件填写理由或文号，或不是工作人员事件）。"
    try:
        snapshots = [console.engine.get_case(case_id) for case_id in selected]
    except FilingFlowError as exc:
        return f"所选案件有误：{zh.error(exc, labels.ProcessLabels.of(process.definition))}"
    foreign = [c.id for c in snapshots if c.program != process.key]
    return f"案件 {foreign} 不属于本项目，未执行。" if foreign else None


@router.post("/batch")
def batch(console: ConsoleDep, posted: PostedDep) -> Response:
    """Fire one event on the selected cases through :meth:`Engine.advance_batch`.

    Oldest submission first, stopping at the first refusal (SZ-FLOW-3); nothing is fired when
    the selection itself is wrong.
    """
    selected = [number(str(v), "case_ids", minimum=1) for v in posted.form.getlist("case_ids")]
    process, event = console.program(posted.text("program")), posted.text("event")
    refused = _refusal(console, process, event, selected)
    if refused:
        return console.back("/console/queue", program=process.key, error=refused)
    names = labels.ProcessLabels.of(process.definition)
    actor = posted.session.caller.actor()
    try:
        outcome = console.engine.advance_batch(
            process.key, event, count=len(set(selected)), actor=actor, case_ids=selected
        )
    except FilingFlowError as exc:
        return console.back("/console/queue", program=process.key, error=zh.error(exc, names))
    done = [str(case_id) for case_id in outcome.advanced]
    failed = None
    if outcome.stopped_at is not None:
        why = zh.error(outcome.error, names) if outcome.error is not None else outcome.reason
        failed = f"案件 {outcome.stopped_at}：{why}"
    label = process.events[event].label
    return console.back(
        "/console/queue",
        program=process.key,
        ok=f"已{label} {len(done)} 件：{', '.join(done)}" if done else None,
        error=failed,
    )
