"""The console served over real HTTP, with staff, admin, platform and applicant tokens."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from app.api import create_app
from app.api.auth import create_token
from app.keys import ConsoleKeys
from tests.support.browser import browser  # noqa: F401  (the browser tests' fixture)
from tests.support.http import serving
from tests.support.longgang import uscc
from workflow.engine import Engine

KEYS = ConsoleKeys.derive(b"console-test-session-secret", b"console-test-csrf-secret")


@dataclass
class Console:
    base: str
    tokens: dict[str, str]
    engine: Engine

    @contextmanager
    def signed_in(self, role: str = "staff") -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.base, timeout=30, follow_redirects=False) as http:
            response = self.sign_in(http, self.tokens[role])
            assert response.status_code == 303, response.text
            yield http

    def sign_in(self, http: httpx.Client, token: str) -> httpx.Response:
        """Sign in as a browser does: show the form (pre-session cookie), post it back with its token."""
        return http.post("/console/login", data={"token": token, "csrf": self.csrf(http, "/console/login")})

    def csrf(self, http: httpx.Client, path: str = "/console/queue") -> str:
        return form_token(http.get(path).text)


def form_token(page: str) -> str:
    """The CSRF token a console page's form carries."""
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


@pytest.fixture
def console(engine: Engine) -> Iterator[Console]:
    now = engine.clock.now()
    tokens = {}
    for role in ("staff", "admin", "platform", "applicant", "metrics"):
        code = uscc(1) if role == "applicant" else None
        _, tokens[role] = create_token(engine.database, name=f"{role}-console", role=role, applicant_code=code, now=now)
    with serving(create_app(engine, console_keys=KEYS)) as base:
        yield Console(base, tokens, engine)


def section_text(page: str, heading_id: str) -> str:
    """The visible text of the ``<section>`` a heading id labels, tags stripped (whitespace kept)."""
    start = page.index(f'id="{heading_id}"')
    return html.unescape(re.sub(r"<[^>]+>", " ", page[start : page.index("</section>", start)]))
