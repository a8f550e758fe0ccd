"""What every console route needs, as FastAPI dependencies: the console, the session, a checked form.

The console's routes live at module level in ``routes_*.py`` (like the API's), so each can be
imported and tested alone; they reach the engine, the keys and the templates through
:data:`ConsoleDep` (the :class:`Console` that :func:`app.console.routes.install` puts on
``app.state``) and the signed-in reviewer through :data:`SessionDep` (a page) or
:data:`PostedDep` (a POST: session plus a form whose CSRF token was checked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from app.api.auth import resolve
from app.console import flash, labels, queries, zh
from app.console.sessions import CONSOLE_ROLES, COOKIE, Revocations, Session, csrf_ok, read
from app.keys import ConsoleKeys
from workflow.engine import Engine
from workflow.errors import NotFound
from workflow.money import format_yuan
from workflow.process import CompiledProcess

TEMPLATES = Path(__file__).with_name("templates")


class ConsoleDenied(Exception):
    """Not signed in (GET: go to sign-in), not allowed (403) or not there (404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def environment() -> jinja2.Environment:
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


@dataclass
class Console:
    """The console of one app: its engine, keys, cookie policy and templates."""

    engine: Engine
    keys: ConsoleKeys
    secure_cookie: bool = False
    env: jinja2.Environment = field(default_factory=environment)
    revoked: Revocations = field(init=False)

    def __post_init__(self) -> None:
        self.revoked = Revocations(self.engine.database)
        # every registered program labels its own notice kinds, FILINGFLOW_PROGRAMS ones included
        kinds = labels.notice_kinds(process.definition for process in self.engine.programs)
        self.env.globals["notice_kind"] = lambda key: labels.label(kinds, key)

    def render(
        self, name: str, session: Session | None, request: Request | None = None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page, showing (and then clearing) the one-shot message the request's cookie carries."""
        shown = flash.take(request, secret=self.keys.flash) if request is not None else flash.Flash()
        context.setdefault("msg", shown.ok)
        context.setdefault("error", shown.error)
        html = self.env.get_template(name).render(
            session=session,
            csrf=session.csrf(self.keys) if session else "",
            programs=list(self.engine.programs.latest()),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if request is not None:
            flash.clear(request, response, secure=self.secure_cookie)
        return response

    def back(self, path: str, *, ok: str | None = None, error: str | None = None, **params: Any) -> RedirectResponse:
        """Redirect after an action, its outcome in a signed one-shot cookie (never in the query string)."""
        query = urlencode({k: v for k, v in params.items() if v})
        response = RedirectResponse(f"{path}?{query}" if query else path, status_code=303)
        if ok or error:
            flash.put(response, flash.Flash(ok, error), secret=self.keys.flash, secure=self.secure_cookie)
        return response

    def program(self, key: str | None) -> CompiledProcess:
        """The named program (the first one when none is named); 404 for an unknown key."""
        try:
            return self.engine.programs.get(key) if key else self.engine.programs.latest()[0]
        except NotFound as exc:
            raise ConsoleDenied(404, str(exc)) from None

    def names_of_case(self, case_id: int) -> zh.Names:
        """The zh-CN labels of a case's program version (its keys when the case is not there)."""
        try:
            case = self.engine.get_case(case_id)
        except NotFound:
            return zh.RawNames()
        return labels.ProcessLabels.of(self.engine.programs.get(case.program, case.program_version).definition)


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


def _session(request: Request, console: Console, *, post: bool) -> Session:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        caller = resolve(console.engine.database, token.strip())
        if caller is None or caller.role not in CONSOLE_ROLES:
            raise ConsoleDenied(403, "the console is for staff: this token is refused")
    session = read(console.engine.database, console.keys, request.cookies.get(COOKIE), console.engine.clock.now())
    if session is None:
        raise ConsoleDenied(403 if post else 303, "sign in first")
    return session


def page_session(request: Request, console: ConsoleDep) -> Session:
    """The reviewer signed in for a page; otherwise a redirect to sign-in (a bearer token of another role: 403)."""
    return _session(request, console, post=False)


def post_session(request: Request, console: ConsoleDep) -> Session:
    """The reviewer signed in for an action; otherwise 403 (a POST is never redirected to sign-in)."""
    return _session(request, console, post=True)


@dataclass(frozen=True, slots=True)
class Posted:
    """A POST's session and its form, whose CSRF token matched the session's."""

    session: Session
    form: FormData

    def text(self, key: str) -> str:
        """A form field as text ("" when absent)."""
        return str(self.form.get(key, ""))


async def checked_form(
    request: Request, console: ConsoleDep, session: Annotated[Session, Depends(post_session)]
) -> Posted:
    form = await request.form()
    if not csrf_ok(session, console.keys, str(form.get("csrf", ""))):
        raise ConsoleDenied(403, "missing or wrong CSRF token")
    return Posted(session, form)


SessionDep = Annotated[Session, Depends(page_session)]
PostedDep = Annotated[Posted, Depends(checked_form)]
