"""Issue 14 B: the console's routers are module-level, so one page group can be mounted and tested alone.

Only ``routes_rounds`` is served here, on a bare FastAPI app with the console's dependencies on
``app.state``: the page answers for a session cookie the console signed, and refuses without one.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.api.auth import Caller, create_token, token_hash
from app.console import routes_rounds
from app.console.routes import handle_refusals
from app.console.sessions import COOKIE, issue
from app.console.web import Console
from tests.console.conftest import KEYS
from tests.support.http import serving
from tests.support.longgang import PROGRAM
from workflow.engine import Engine


def test_the_rounds_router_serves_alone(engine: Engine) -> None:
    app = FastAPI()
    app.state.console = Console(engine, KEYS)
    app.include_router(routes_rounds.router)
    handle_refusals(app)
    now = engine.clock.now()
    token_id, token = create_token(engine.database, name="rounds-alone", role="staff", applicant_code=None, now=now)
    cookie = issue(KEYS, Caller(token_id, "rounds-alone", "staff", None, "console"), token_hash(token), now)
    with serving(app) as base:
        with httpx.Client(base_url=base, timeout=30, cookies={COOKIE: cookie}) as http:
            page = http.get("/console/rounds")
            assert page.status_code == 200
            assert "2025年龙岗区人工智能算力扶持项目" in page.text
            export = http.get(f"/console/rounds/{PROGRAM}/cases.csv")
            assert export.headers["content-type"].startswith("text/csv")
            assert http.get("/console/queue").status_code == 404, "only this router is mounted"
        with httpx.Client(base_url=base, timeout=30) as anonymous:
            refused = anonymous.get("/console/rounds")
            assert (refused.status_code, refused.headers["location"]) == (303, "/console/login"), "no session, no page"
