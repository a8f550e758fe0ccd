"""The API under test, served over real HTTP, with a token for every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from app.api import create_app
from app.api.auth import create_token
from tests.support.http import serving
from tests.support.longgang import uscc
from workflow.engine import Engine

ROLES = ("platform", "staff", "admin", "applicant", "other_applicant")


@dataclass
class Api:
    base: str
    tokens: dict[str, str]
    engine: Engine

    def client(self, role: str | None = "platform", **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base, headers={**auth, **headers}, timeout=30)


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    now = engine.clock.now()
    tokens = {}
    for role in ROLES:
        actual = "applicant" if role.endswith("applicant") else role
        code = uscc(1) if role == "applicant" else uscc(2) if role == "other_applicant" else None
        _, tokens[role] = create_token(engine.database, name=f"{role}-token", role=actual, applicant_code=code, now=now)
    with serving(create_app(engine)) as base:
        yield Api(base, tokens, engine)
