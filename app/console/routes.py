"""The staff console under ``/console``: server-rendered pages over the same engine and tokens.

Every action goes through the engine, so it is checked and audited exactly like an API
call (the audit records the staff token's name and ``via=console``). Pages are plain
Jinja2 with a little CSS and an inline SVG diagram: no front-end build step, no script,
labels on every control, usable from the keyboard. An action answers with a redirect and
a signed one-shot message (:mod:`app.console.flash`); nothing a page displays comes from
its query string.

The routes are module-level routers, one module per page group (sign-in, queue, case page,
rounds), whose handlers get the console and the session as FastAPI dependencies
(:mod:`app.console.web`); :func:`install` mounts them all.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.api.problems import problem
from app.console import routes_auth, routes_case, routes_lists, routes_money, routes_queue, routes_rounds
from app.console.web import Console, ConsoleDenied
from app.keys import ConsoleKeys
from workflow.engine import Engine

ROUTERS = (
    routes_auth.router,
    routes_queue.router,
    routes_case.router,
    routes_rounds.router,
    routes_lists.router,
    routes_money.router,
)


def install(app: FastAPI, engine: Engine, *, keys: ConsoleKeys, secure_cookie: bool = False) -> None:
    """Mount the console (``secure_cookie`` marks every console cookie ``Secure``: serve behind HTTPS)."""
    app.state.console = Console(engine, keys, secure_cookie)
    for router in ROUTERS:
        app.include_router(router)
    handle_refusals(app)


def handle_refusals(app: FastAPI) -> None:
    """Answer a :class:`ConsoleDenied` with a redirect to sign-in (a page) or a 403/404 problem."""

    @app.exception_handler(ConsoleDenied)
    async def denied(request: Request, exc: ConsoleDenied) -> Response:
        if exc.status == 303:
            return RedirectResponse("/console/login", status_code=303)
        slug, title = ("not-found", "Not found") if exc.status == 404 else ("forbidden", "Not allowed")
        return problem(exc.status, slug, title, str(exc), instance=request.url.path)
