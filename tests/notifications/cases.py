"""Queueing notices the way production does (a submitted case) and reading the outbox back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workflow.engine import Engine
from workflow.tables import notices


def rows(engine: Engine, **where: object) -> list[dict[str, Any]]:
    """The outbox rows matching ``where`` (column = value), in id order."""
    with engine.database.connect() as conn:
        query = sa.select(notices).order_by(notices.c.id)
        for column, value in where.items():
            query = query.where(notices.c[column] == value)
        return [dict(r) for r in conn.execute(query).mappings()]
