"""The staff console under ``/console``: server-rendered pages over the same engine and tokens.

Every action goes through the engine, so it is checked and audited exactly like an API
call (the audit records the staff token's name and ``via=console``). Pages are plain
Jinja2 with a little CSS: no front-end build step, labels on every control, usable from
the keyboard.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.auth import resolve
from app.console import queries
from app.console.sessions import CONSOLE_ROLES, COOKIE, Session, csrf_ok, issue, read
from workflow.deadline_commands import DeadlineExplanation
from workflow.diagram import mermaid
from workflow.engine import Engine
from workflow.errors import FilingFlowError
from workflow.money import format_yuan
from workflow.tables import notices

TEMPLATES = Path(__file__).with_name("templates")


class ConsoleDenied(Exception):
    """Not signed in (GET: go to sign-in) or not allowed (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def build_console(engine: Engine, *, secret: bytes, secure_cookie: bool = False) -> APIRouter:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = queries.local
    env.filters["yuan"] = lambda fen: format_yuan(fen) if isinstance(fen, int) else ""
    router = APIRouter(prefix="/console", include_in_schema=False)

    def render(name: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(
            session=session,
            csrf=session.csrf(secret) if session else "",
            programs=list(engine.programs.latest()),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def session_of(request: Request, *, post: bool = False) -> Session:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            caller = resolve(engine.database, token.strip())
            if caller is None or caller.role not in CONSOLE_ROLES:
                raise ConsoleDenied(403, "the console is for staff: this token is refused")
        session = read(engine.database, secret, request.cookies.get(COOKIE), engine.clock.now())
        if session is None:
            raise ConsoleDenied(403 if post else 303, "sign in first")
        return session

    async def checked_form(request: Request, session: Session) -> dict[str, Any]:
        form = dict(await request.form())
        if not csrf_ok(session, secret, str(form.get("csrf", ""))):
            raise ConsoleDenied(403, "missing or wrong CSRF token")
        return form

    def back(path: str, **params: Any) -> RedirectResponse:
        query = urlencode({k: v for k, v in params.items() if v})
        return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)

    # ---- sign-in ----------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_page(error: str | None = None) -> HTMLResponse:
        return render("login.html.j2", None, error=error)

    @router.post("/login")
    def login(token: Annotated[str, Form()]) -> Response:
        caller = resolve(engine.database, token.strip())
        if caller is None or caller.role not in CONSOLE_ROLES:
            return render(
                "login.html.j2", None, status=403, error="令牌无效，或不是工作人员令牌（仅限 staff / admin）。"
            )
        response = RedirectResponse("/console/queue", status_code=303)
        response.set_cookie(
            COOKIE,
            issue(secret, caller.token_id, engine.clock.now()),
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
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
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
        program: str | None = None,
        state: str | None = None,
        due_within: Annotated[str | None, Query(max_length=3, description="working days, blank for any")] = None,
        overdue: bool = False,
        q: Annotated[str | None, Query(max_length=100)] = None,
        sort: str = "submitted",
        page: Annotated[int, Query(ge=1, le=100000)] = 1,
        msg: str | None = None,
        error: str | None = None,
    ) -> Response:
        session = session_of(request)
        process = engine.programs.get(program) if program else engine.programs.latest()[0]
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
        staff_events = [e for e in process.definition.events if e.roles & set(CONSOLE_ROLES)]
        return render(
            "queue.html.j2",
            session,
            process=process,
            f=f,
            rows=rows,
            total=total,
            counts=queries.state_counts(engine, process.key),
            page_size=queries.PAGE,
            staff_events=staff_events,
            msg=msg,
            error=error,
        )

    @router.post("/batch")
    async def batch(request: Request) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        selected = [int(str(v)) for v in (await request.form()).getlist("case_ids") if str(v).isdigit()]
        program, event = str(form.get("program", "")), str(form.get("event", ""))
        if not selected:
            return back("/console/queue", program=program, error="请先勾选案件。")
        ordered = sorted(
            selected,
            key=lambda cid: (engine.get_case(cid).submitted_at is None, engine.get_case(cid).submitted_at, cid),
        )
        done, failed = [], ""
        for case_id in ordered:
            try:
                engine.fire(case_id, event, actor=session.caller.actor())
            except FilingFlowError as exc:
                failed = f"案件 {case_id}：{exc}"
                break
            done.append(str(case_id))
        return back(
            "/console/queue",
            program=program,
            msg=f"已处理 {len(done)} 件：{', '.join(done)}" if done else None,
            error=failed or None,
        )

    # ---- case page ----------------------------------------------------------------------

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: int, msg: str | None = None, error: str | None = None) -> Response:
        session = session_of(request)
        return case_view(session, case_id, msg=msg, error=error)

    def case_view(session: Session, case_id: int, *, status: int = 200, **extra: Any) -> HTMLResponse:
        case = engine.get_case(case_id)
        process = engine.programs.get(case.program, case.program_version)
        with engine.database.connect() as conn:
            sent = (
                conn.execute(notices.select().where(notices.c.case_id == case_id).order_by(notices.c.id))
                .mappings()
                .all()
            )
        explanations: dict[int, DeadlineExplanation] = {e.deadline.id: e for e in engine.explain_deadlines(case_id)}
        return render(
            "case.html.j2",
            session,
            status=status,
            case=case,
            process=process,
            amount=engine.explain_amount(case_id),
            materials=process.definition.checklist(case.data),
            history=engine.history(case_id),
            notices=sent,
            options=engine.available_events(case_id, actor=session.caller.actor()),
            explanations=explanations,
            diagram=mermaid(process.definition, current=case.state),
            windows=process.definition.reference.get("service_windows", []),
            **extra,
        )

    @router.post("/cases/{case_id}/events")
    async def fire(request: Request, case_id: int) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        event = str(form.get("event", ""))
        payload: dict[str, Any] = {}
        for key in ("reason", "approval_document"):
            if str(form.get(key, "")).strip():
                payload[key] = str(form[key])
        if str(form.get("service_window", "")).isdigit():
            payload["service_window"] = int(str(form["service_window"]))
        version = str(form.get("version", ""))
        try:
            engine.fire(
                case_id,
                event,
                actor=session.caller.actor(),
                payload=payload,
                expected_version=int(version) if version.isdigit() else None,
            )
        except FilingFlowError as exc:
            return back(f"/console/cases/{case_id}", error=str(exc))
        return back(f"/console/cases/{case_id}", msg=f"已执行：{event}")

    @router.post("/cases/{case_id}/override")
    async def override(request: Request, case_id: int) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        target, reason = str(form.get("target", "")), str(form.get("reason", ""))
        version = str(form.get("version", ""))
        preview = form.get("action") != "confirm"
        try:
            outcome = engine.override(
                case_id,
                target,
                actor=session.caller.actor(),
                reason=reason,
                expected_version=int(version) if version.isdigit() else None,
                dry_run=preview,
            )
        except FilingFlowError as exc:
            return case_view(
                session, case_id, status=422, error=str(exc), override_form={"target": target, "reason": reason}
            )
        if preview:
            return case_view(session, case_id, preview=outcome, override_form={"target": target, "reason": reason})
        return back(f"/console/cases/{case_id}", msg=f"已调整状态：{outcome.from_state} → {outcome.to_state}")

    @router.post("/cases/{case_id}/deadlines/{deadline_id}/{action}")
    async def deadline(request: Request, case_id: int, deadline_id: int, action: str) -> Response:
        session = session_of(request, post=True)
        form = await checked_form(request, session)
        reason, actor = str(form.get("reason", "")), session.caller.actor()
        try:
            if action == "extend":
                days, until = str(form.get("working_days", "")), str(form.get("to_date", ""))
                engine.extend_deadline(
                    case_id,
                    deadline_id,
                    actor=actor,
                    reason=reason,
                    working_days=int(days) if days.isdigit() else None,
                    to_date=date.fromisoformat(until) if until else None,
                )
            elif action == "suspend":
                engine.suspend_deadline(case_id, deadline_id, actor=actor, reason=reason)
            elif action == "resume":
                engine.resume_deadline(case_id, deadline_id, actor=actor, reason=reason)
            else:
                raise ConsoleDenied(404, "no such action")
        except (FilingFlowError, ValueError) as exc:
            return back(f"/console/cases/{case_id}", error=str(exc))
        return back(f"/console/cases/{case_id}", msg=f"期限已更新：{action}")

    # ---- round overview and exports --------------------------------------------------------

    @router.get("/rounds", response_class=HTMLResponse)
    def rounds(request: Request) -> Response:
        session = session_of(request)
        overview = [(p, queries.round_overview(engine, p.key)) for p in engine.programs.latest()]
        return render("rounds.html.j2", session, overview=overview)

    @router.get("/rounds/{program}/{kind}.csv")
    def export(request: Request, program: str, kind: str) -> Response:
        session_of(request)
        if kind not in ("cases", "publicity"):
            raise ConsoleDenied(404, "no such export")
        process = engine.programs.get(program)
        rows = queries.export_rows(engine, process.key, publicity_only=kind == "publicity")
        out = io.StringIO()
        writer = csv.writer(out)
        if kind == "publicity":
            writer.writerow(["序号", "申报单位", "统一社会信用代码", "项目", "拟支持金额（元）"])
            for i, r in enumerate(rows, 1):
                amount = format_yuan(r["amount_fen"]) if r["amount_fen"] is not None else ""
                writer.writerow([i, r["applicant_name"], r["applicant_code"], process.definition.title, amount])
        else:
            writer.writerow(
                [
                    "业务编号",
                    "申报单位",
                    "统一社会信用代码",
                    "状态",
                    "状态名称",
                    "金额（元）",
                    "首次提交时间",
                    "最近期限",
                ]
            )
            for r in rows:
                writer.writerow(
                    [
                        r["id"],
                        r["applicant_name"],
                        r["applicant_code"],
                        r["state"],
                        process.states[r["state"]].label if r["state"] in process.states else r["state"],
                        format_yuan(r["amount_fen"]) if r["amount_fen"] is not None else "",
                        queries.local(r["submitted_at"]),
                        queries.local(r["next_due"]),
                    ]
                )
        body = "\ufeff" + out.getvalue()  # UTF-8 with BOM so Excel reads Chinese correctly
        filename = f"{process.key}-{'publicity-list' if kind == 'publicity' else 'cases'}.csv"
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return router


def _working_days(raw: str | None) -> int | None:
    """A blank form field means "any"; otherwise 0..60 working days."""
    return int(raw) if raw and raw.isdigit() and int(raw) <= 60 else None


def install(app: FastAPI, router: APIRouter) -> None:
    """Mount the console and turn its refusals into a redirect to sign-in or a 403 page."""
    from fastapi.responses import PlainTextResponse

    app.include_router(router)

    @app.exception_handler(ConsoleDenied)
    async def denied(request: Request, exc: ConsoleDenied) -> Response:
        if exc.status == 303:
            return RedirectResponse("/console/login", status_code=303)
        return PlainTextResponse(f"{exc.status}: {exc}", status_code=exc.status)
