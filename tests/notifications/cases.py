"""Queueing notices the way production does (a submitted case) and reading the outbox back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data
from workflow.engine import Engine
from workflow.tables import notices


def rows(engine: Engine, **where: object) -> list[dict[str, Any]]:
    """The outbox rows matching ``where`` (column = value), in id order."""
    with engine.database.connect() as conn:
        query = sa.select(notices).order_by(notices.c.id)
        for column, value in where.items():
            query = query.where(notices.c[column] == value)
        return [dict(r) for r in conn.execute(query).mappings()]


def submitted(engine: Engine, serial: int = 1, **kwargs: bool) -> int:
    """Open and submit a Longgang case: queues the applicant's email and SMS and the staff email."""
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial, **kwargs), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id
