"""The API under test, served over real HTTP, with a token for every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.api import create_app
from app.api.auth import create_token
from app.tables import http_idempotency
from tests.support.http import serving
from tests.support.invariants import database_image
from tests.support.longgang import uscc
from workflow.engine import Engine
from workflow.tables import notice_resends, webhook_subscriptions

ROLES = ("platform", "staff", "admin", "applicant", "other_applicant", "metrics")


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


def api_image(engine: Engine) -> dict[str, Any]:
    """Every row of the engine's tables and of the API's own (webhooks, re-sends, idempotency keys)."""
    image = database_image(engine)
    with engine.database.connect() as conn:
        for table in (webhook_subscriptions, notice_resends, http_idempotency):
            image[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
    return image
