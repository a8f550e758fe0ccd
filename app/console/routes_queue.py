"""The console's work queue: filters, counts, paging, and batch events on a selection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console import labels, queries, zh
from app.console.numbers import number, working_days
from app.console.sessions import CONSOLE_ROLES
from app.console.web import ConsoleDep, PostedDep, SessionDep
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


@router.post("/batch")
def batch(console: ConsoleDep, posted: PostedDep) -> Response:
    """Fire one event on the selected cases, oldest submission first, stopping at the first refusal (SZ-FLOW-3)."""
    engine = console.engine
    selected = [number(str(v), "case_ids", minimum=1) for v in posted.form.getlist("case_ids")]
    process = console.program(posted.text("program"))
    event = posted.text("event")
    if not selected:
        return console.back("/console/queue", program=process.key, error="请先勾选案件。")
    if event not in {e.name for e in batch_events(process)}:
        return console.back(
            "/console/queue",
            program=process.key,
            error=f"事件 {event!r} 不能批量执行（需逐件填写理由或文号，或不是工作人员事件）。",
        )
    names = labels.ProcessLabels.of(process.definition)
    try:
        snapshots = [engine.get_case(case_id) for case_id in selected]
    except FilingFlowError as exc:
        return console.back("/console/queue", program=process.key, error=f"所选案件有误：{zh.error(exc, names)}")
    foreign = [c.id for c in snapshots if c.program != process.key]
    if foreign:
        return console.back("/console/queue", program=process.key, error=f"案件 {foreign} 不属于本项目，未执行。")
    ordered = sorted(snapshots, key=lambda c: (c.submitted_at is None, c.submitted_at, c.id))
    done, failed = [], ""
    for case in ordered:
        try:
            engine.fire(case.id, event, actor=posted.session.caller.actor())
        except FilingFlowError as exc:
            failed = f"案件 {case.id}：{zh.error(exc, names)}"
            break
        done.append(str(case.id))
    label = process.events[event].label
    return console.back(
        "/console/queue",
        program=process.key,
        ok=f"已{label} {len(done)} 件：{', '.join(done)}" if done else None,
        error=failed or None,
    )
