"""The staff console under ``/console``: server-rendered pages over the same engine and tokens.

Every action goes through the engine, so it is checked and audited exactly like an API
call (the audit records the staff token's name and ``via=console``). Pages are plain
Jinja2 with a little CSS and an inline SVG diagram: no front-end build step, no script,
labels on every control, usable from the keyboard. An action answers with a redirect and
a signed one-shot message (:mod:`app.console.flash`); nothing a page displays comes from
its query string.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.auth import resolve, token_hash
from app.api.problems import ApiProblem, problem
from app.console import exports, flash, labels, queries, zh
from app.console.flowchart import flowchart
from app.console.sessions import (
    CONSOLE_ROLES,
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_LIFETIME,
    Revocations,
    Session,
    csrf_ok,
    issue,
    login_challenge,
    login_csrf_ok,
    read,
)
from app.keys import ConsoleKeys
from app.parsing import DB_INT_MAX, whole
from workflow.database import read_only
from workflow.deadline_commands import DeadlineExplanation
from workflow.definition import Event
from workflow.diagram import mermaid
from workflow.engine import Engine
from workflow.errors import FilingFlowError, NotFound
from workflow.money import format_yuan
from workflow.process import CompiledProcess
from workflow.tables import notices

TEMPLATES = Path(__file__).with_name("templates")
CaseId = Annotated[int, FastApiPath(ge=1, le=DB_INT_MAX)]  # a 30-digit id is a 422, not a database overflow


class ConsoleDenied(Exception):
    """Not signed in (GET: go to sign-in), not allowed (403) or not there (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = queries.local
    env.filters["due"] = queries.due
    env.filters["yuan"] = lambda fen: format_yuan(fen) if isinstance(fen, int) else ""
    env.globals.update(
        deadline_status=lambda key: labels.label(labels.DEADLINE_STATUSES, key),
        notice_status=lambda key: labels.label(labels.NOTICE_STATUSES, key),
        channel=lambda key: labels.label(labels.CHANNELS, key),
        notice_kind=lambda key: labels.label(labels.NOTICE_KINDS, key),
        audit_kind=lambda key: labels.label(labels.AUDIT_KINDS, key),
        refusal_zh=zh.refusal,
        explain_zh=lambda item: zh.explanation(item.code, item.params, item.text),
        role_name=lambda key: zh.ROLES.get(key, key),
    )
    env.filters["zh_time"] = zh.instant
    env.filters["zh_end"] = lambda value: zh.instant(value, end=True)
    return env


def build_console(engine: Engine, *, keys: ConsoleKeys, secure_cookie: bool = False) -> APIRouter:
    """The console's routes; ``secure_cookie`` marks every console cookie ``Secure`` (serve behind HTTPS)."""
    env = _environment()
    revoked = Revocations(engine.database)
    router = APIRouter(prefix="/console", include_in_schema=False)

    def render(
        name: str, session: Session | None, request: Request | None = None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        shown = flash.take(request, secret=keys.flash) if request is not None else flash.Flash()
        context.setdefault("msg", shown.ok)
        context.setdefault("error", shown.error)
        html = env.get_template(name).render(
            session=session,
            csrf=session.csrf(keys) if session else "",
            programs=list(engine.programs.latest()),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if request is not None:
            flash.clear(request, response, secure=secure_cookie)
        return response

    def session_of(request: Request, *, post: bool = False) -> Session:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            caller = resolve(engine.database, token.strip())
            if caller is None or caller.role not in CONSOLE_ROLES:
                raise ConsoleDenied(403, "the console is for staff: this token is refused")
        session = read(engine.database, keys, request.cookies.get(COOKIE), engine.clock.now())
        if session is None:
            raise ConsoleDenied(403 if post else 303, "sign in first")
        return session

    async def checked_form(request: Request, session: Session) -> dict[str, Any]:
        form = dict(await request.form())
        if not csrf_ok(session, keys, str(form.get("csrf", ""))):
            raise ConsoleDenied(403, "missing or wrong CSRF token")
        return form

    def back(path: str, *, ok: str | None = None, error: str | None = None, **params: Any) -> RedirectResponse:
        query = urlencode({k: v for k, v in params.items() if v})
        response = RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
        if ok or error:
            flash.put(response, flash.Flash(ok, error), secret=keys.flash, secure=secure_cookie)
        return response

    def program(key: str | None) -> CompiledProcess:
        try:
            return engine.programs.get(key) if key else engine.programs.latest()[0]
        except NotFound as exc:
            raise ConsoleDenied(404, str(exc)) from None

    # ---- sign-in ----------------------------------------------------------------------

    def login_form(status: int = 200, error: str | None = None) -> HTMLResponse:
        cookie, token = login_challenge(keys, engine.clock.now())
        response = render("login.html.j2", None, status=status, error=error, login_csrf=token)
        response.set_cookie(
            LOGIN_COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path="/console/login",
            max_age=int(LOGIN_LIFETIME.total_seconds()),
        )
        return response

    @router.get("/login", response_class=HTMLResponse)
    def login_page() -> HTMLResponse:
        return login_form()

    @router.post("/login")
    def login(request: Request, token: Annotated[str, Form()], csrf: Annotated[str, Form()] = "") -> Response:
        if not login_csrf_ok(keys, request.cookies.get(LOGIN_COOKIE), csrf, engine.clock.now()):
            return login_form(403, "登录表单已失效或不是从本页提交，请重新输入令牌。")
        caller = resolve(engine.database, token.strip())
        if caller is None or caller.role not in CONSOLE_ROLES:
            return login_form(403, "令牌无效，或不是工作人员令牌（仅限 staff / admin）。")
        response = RedirectResponse("/console/queue", status_code=303)
        response.delete_cookie(LOGIN_COOKIE, path="/console/login", secure=secure_cookie, httponly=True)
        response.set_cookie(
            COOKIE,
            issue(keys, caller, token_hash(token.strip()), engine.clock.now()),
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path="/console",
            max_age=8 * 3600,
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        session = session_of(request, post=True)
        await checked_form(request, session)
        revoked.revoke(session, engine.clock.now())
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console", secure=secure_cookie, httponly=True, samesite="strict")
        return response

    # ---- work queue -------------------------------------------------------------------

    @router.get("", response_class=HTMLResponse)
    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        session_of(request)
        return RedirectResponse("/console/queue", status_code=303)

    @router.get("/queue", response_class=HTMLResponse)
    def queue_page(
        request: Request,
        program_key: Annotated[str | None, Query(alias="program", max_length=80)] = None,
        state: Annotated[str | None, Query(max_length=60)] = None,
        due_within: Annotated[str | None, Query(max_length=3, description="working days, blank for any")] = None,
        overdue: bool = False,
        q: Annotated[str | None, Query(max_length=100)] = None,
        sort: str = "submitted",
        page: Annotated[int, Query(ge=1, le=100000)] = 1,
    ) -> Response:
        session = session_of(request)
        process = program(program_key)
        f = queries.QueueFilter(
            process.key,
            state or None,
            _working_days(due_within),
            overdue,
            q or None,
            "due" if sort == "due" else "submitted",
            page,
        )
        rows, total = queries.queue(engine, f)
        return render(
            "queue.html.j2",
            session,
            request,
            process=process,
            f=f,
            rows=rows,
            total=total,
            counts=queries.state_counts(engine, process.key),
            page_size=queries.PAGE,
            staff_events=_batch_events(process),
        )

    @router.post("/batch")
    async def batch(request: Request) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        selected = [_number(str(v), "case_ids", minimum=1) for v in (await request.form()).getlist("case_ids")]
        process = program(str(form.get("program", "")))
        event = str(form.get("event", ""))
        if not selected:
            return back("/console/queue", program=process.key, error="请先勾选案件。")
        if event not in {e.name for e in _batch_events(process)}:
            return back(
                "/console/queue",
                program=process.key,
                error=f"事件 {event!r} 不能批量执行（需逐件填写理由或文号，或不是工作人员事件）。",
            )
        names = labels.ProcessLabels.of(process.definition)
        try:
            snapshots = [engine.get_case(case_id) for case_id in selected]
        except FilingFlowError as exc:
            return back("/console/queue", program=process.key, error=f"所选案件有误：{zh.error(exc, names)}")
        foreign = [c.id for c in snapshots if c.program != process.key]
        if foreign:
            return back("/console/queue", program=process.key, error=f"案件 {foreign} 不属于本项目，未执行。")
        ordered = sorted(snapshots, key=lambda c: (c.submitted_at is None, c.submitted_at, c.id))
        done, failed = [], ""
        for case in ordered:
            try:
                engine.fire(case.id, event, actor=session.caller.actor())
            except FilingFlowError as exc:
                failed = f"案件 {case.id}：{zh.error(exc, names)}"
                break
            done.append(str(case.id))
        label = process.events[event].label
        return back(
            "/console/queue",
            program=process.key,
            ok=f"已{label} {len(done)} 件：{', '.join(done)}" if done else None,
            error=failed or None,
        )

    # ---- case page ----------------------------------------------------------------------

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: CaseId) -> Response:
        session = session_of(request)
        return case_view(session, case_id, request=request)

    def case_view(
        session: Session, case_id: int, *, request: Request | None = None, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        try:
            case = engine.get_case(case_id)
        except NotFound as exc:
            raise ConsoleDenied(404, str(exc)) from None
        process = engine.programs.get(case.program, case.program_version)
        with read_only(engine.database) as conn:
            sent = (
                conn.execute(notices.select().where(notices.c.case_id == case_id).order_by(notices.c.id))
                .mappings()
                .all()
            )
        explanations: dict[int, DeadlineExplanation] = {e.deadline.id: e for e in engine.explain_deadlines(case_id)}
        return render(
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
            notices=sent,
            options=engine.available_events(case_id, actor=session.caller.actor()),
            explanations=explanations,
            flow=flowchart(process.definition, current=case.state),
            diagram=mermaid(process.definition, current=case.state),
            windows=process.definition.reference.get("service_windows", []),
            deadline_labels={d.key: d.label for d in process.definition.deadlines},
            **extra,
        )

    def case_names(case_id: int) -> zh.Names:
        """The zh-CN labels of a case's program version (its keys when the case is not there)."""
        try:
            case = engine.get_case(case_id)
        except NotFound:
            return zh.RawNames()
        return labels.ProcessLabels.of(engine.programs.get(case.program, case.program_version).definition)

    @router.post("/cases/{case_id}/events")
    async def fire(request: Request, case_id: CaseId) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        event = str(form.get("event", ""))
        payload: dict[str, Any] = {}
        for key in ("reason", "approval_document"):
            if str(form.get(key, "")).strip():
                payload[key] = str(form[key])
        window = _optional_number(form, "service_window", minimum=1)
        if window is not None:
            payload["service_window"] = window
        version = _optional_number(form, "version")
        try:
            case = engine.fire(
                case_id,
                event,
                actor=session.caller.actor(),
                payload=payload,
                expected_version=version,
            )
        except FilingFlowError as exc:
            return back(f"/console/cases/{case_id}", error=zh.error(exc, case_names(case_id)))
        names = labels.ProcessLabels.of(engine.programs.get(case.program, case.program_version).definition)
        return back(f"/console/cases/{case_id}", ok=f"已执行：{names.event(event)}（{event}）")

    @router.post("/cases/{case_id}/override")
    async def override(request: Request, case_id: CaseId) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        target, reason = str(form.get("target", "")), str(form.get("reason", ""))
        version = _optional_number(form, "version")
        preview = form.get("action") != "confirm"
        try:
            outcome = engine.override(
                case_id,
                target,
                actor=session.caller.actor(),
                reason=reason,
                expected_version=version,
                dry_run=preview,
            )
        except FilingFlowError as exc:
            return case_view(
                session,
                case_id,
                status=422,
                override_error=zh.error(exc, case_names(case_id)),
                override_form={"target": target, "reason": reason},
            )
        if preview:
            return case_view(session, case_id, preview=outcome, override_form={"target": target, "reason": reason})
        case = engine.get_case(case_id)
        names = labels.ProcessLabels.of(engine.programs.get(case.program, case.program_version).definition)
        moved = f"{names.state(outcome.from_state)} → {names.state(outcome.to_state)}"
        return back(f"/console/cases/{case_id}", ok=f"已调整状态：{moved}")

    @router.post("/cases/{case_id}/deadlines/{deadline_id}/{action}")
    async def deadline(request: Request, case_id: CaseId, deadline_id: CaseId, action: str) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        reason, actor = str(form.get("reason", "")), session.caller.actor()
        try:
            if action == "extend":
                days, until = _optional_number(form, "working_days", maximum=3650), str(form.get("to_date", ""))
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
            elif action == "resume":
                engine.resume_deadline(case_id, deadline_id, actor=actor, reason=reason)
            else:
                raise ConsoleDenied(404, "no such action")
        except FilingFlowError as exc:
            return back(f"/console/cases/{case_id}", error=zh.error(exc, case_names(case_id)))
        except ValueError as exc:  # a to_date that is not a date
            return back(f"/console/cases/{case_id}", error=f"日期格式有误（字段 to_date，应为 YYYY-MM-DD）：{exc}")
        done = {"extend": "已延长", "suspend": "已暂停计时", "resume": "已恢复计时"}[action]
        return back(f"/console/cases/{case_id}", ok=f"期限{done}。")

    # ---- round overview and exports --------------------------------------------------------

    @router.get("/rounds", response_class=HTMLResponse)
    def rounds(request: Request) -> Response:
        session = session_of(request)
        overview = [(p, queries.round_overview(engine, p.key)) for p in engine.programs.latest()]
        return render("rounds.html.j2", session, request, overview=overview)

    @router.get("/rounds/{program_key}/{kind}.csv")
    @router.get("/rounds/{program_key}/{kind}.xlsx")
    def export(request: Request, program_key: str, kind: str) -> Response:
        session_of(request)
        if kind not in ("cases", "publicity"):
            raise ConsoleDenied(404, "no such export")
        process = program(program_key)
        rows = queries.export_rows(engine, process.key, publicity_only=kind == "publicity")
        table = exports.publicity_rows(process, rows) if kind == "publicity" else exports.case_rows(process, rows)
        stem = f"{process.key}-{'publicity-list' if kind == 'publicity' else 'cases'}"
        if request.url.path.endswith(".xlsx"):
            body = exports.to_xlsx(table, title="公示名单" if kind == "publicity" else "案件")
            return Response(
                body,
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
            )
        return Response(
            exports.to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )

    return router


def _batch_events(process: CompiledProcess) -> list[Event]:
    """Staff events a selection can take at once: those that need no per-case reason or document."""
    return [e for e in process.definition.events if e.roles & set(CONSOLE_ROLES) and not e.requires]


def _working_days(raw: str | None) -> int | None:
    """A blank form field means "any"; otherwise 0..60 working days."""
    if not raw:
        return None
    return _number(raw, "due_within", maximum=60)


def _number(raw: str, field: str, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int:
    """A form or query number: ASCII digits within range (:func:`app.parsing.whole`), else 422 naming the field."""
    value = whole(raw.strip(), minimum=minimum, maximum=maximum)
    if value is None:
        raise ApiProblem(
            422,
            "invalid-input",
            "Invalid input",
            f"{field}: {raw[:40]!r} is not a whole number in {minimum}..{maximum}",
            field=field,
        )
    return value


def _optional_number(form: dict[str, Any], field: str, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    raw = str(form.get(field, "")).strip()
    return _number(raw, field, minimum=minimum, maximum=maximum) if raw else None


def install(app: FastAPI, router: APIRouter) -> None:
    """Mount the console and turn its refusals into a redirect to sign-in or a 403/404 problem."""
    app.include_router(router)

    @app.exception_handler(ConsoleDenied)
    async def denied(request: Request, exc: ConsoleDenied) -> Response:
        if exc.status == 303:
            return RedirectResponse("/console/login", status_code=303)
        slug, title = ("not-found", "Not found") if exc.status == 404 else ("forbidden", "Not allowed")
        return problem(exc.status, slug, title, str(exc), instance=request.url.path)
