"""Console sign-in and sign-out: a staff token exchanged for a session cookie (:mod:`app.console.sessions`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.auth import resolve, token_hash
from app.console.sessions import (
    CONSOLE_ROLES,
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_LIFETIME,
    issue,
    login_challenge,
    login_csrf_ok,
)
from app.console.web import Console, ConsoleDep, PostedDep

router = APIRouter(prefix="/console", include_in_schema=False)


def login_form(console: Console, status: int = 200, error: str | None = None) -> HTMLResponse:
    """The sign-in form with a fresh pre-session cookie and its matching form token (against login CSRF)."""
    cookie, token = login_challenge(console.keys, console.engine.clock.now())
    response = console.render("login.html.j2", None, status=status, error=error, login_csrf=token)
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookie,
        path="/console/login",
        max_age=int(LOGIN_LIFETIME.total_seconds()),
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(console: ConsoleDep) -> HTMLResponse:
    return login_form(console)


@router.post("/login")
def login(
    request: Request, console: ConsoleDep, token: Annotated[str, Form()], csrf: Annotated[str, Form()] = ""
) -> Response:
    engine = console.engine
    if not login_csrf_ok(console.keys, request.cookies.get(LOGIN_COOKIE), csrf, engine.clock.now()):
        return login_form(console, 403, "登录表单已失效或不是从本页提交，请重新输入令牌。")
    caller = resolve(engine.database, token.strip())
    if caller is None or caller.role not in CONSOLE_ROLES:
        return login_form(console, 403, "令牌无效，或不是工作人员令牌（仅限 staff / admin）。")
    response = RedirectResponse("/console/queue", status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/console/login", secure=console.secure_cookie, httponly=True)
    response.set_cookie(
        COOKIE,
        issue(console.keys, caller, token_hash(token.strip()), engine.clock.now()),
        httponly=True,
        samesite="strict",
        secure=console.secure_cookie,
        path="/console",
        max_age=8 * 3600,
    )
    return response


@router.post("/logout")
def logout(console: ConsoleDep, posted: PostedDep) -> Response:
    console.revoked.revoke(posted.session, console.engine.clock.now())
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console", secure=console.secure_cookie, httponly=True, samesite="strict")
    return response
