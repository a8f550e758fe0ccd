"""How many cases staff refused for a reason of their own, per round (e.g. filed through an intermediary).

A program names such staff refusals in its definition's ``reference["staff_refusals"]``
(event name -> rule ID, reason code, label; LG-AGENT-1, SZ-AGENT-1); this counts the cases
whose audit trail has each event. Read by the API (``GET /v1/programs/{key}/staff-refusals``)
and the console's rounds page.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workflow.database import read_only
from workflow.engine import Engine
from workflow.tables import audit_events, cases


def staff_refusal_counts(engine: Engine, program: str) -> list[dict[str, Any]]:
    """Each staff refusal the program declares, with the number of its cases refused that way."""
    refusals: dict[str, Any] = dict(engine.programs.get(program).definition.reference.get("staff_refusals", {}))
    if not refusals:
        return []
    with read_only(engine.database) as conn:
        rows = conn.execute(
            sa.select(audit_events.c.event, sa.func.count(sa.distinct(audit_events.c.case_id)))
            .join(cases, cases.c.id == audit_events.c.case_id)
            .where(cases.c.program_key == program, audit_events.c.event.in_(list(refusals)))
            .group_by(audit_events.c.event)
        ).all()
    counted: dict[str, int] = {row[0]: int(row[1]) for row in rows}
    return [{"event": event, **dict(meta), "count": counted.get(event, 0)} for event, meta in refusals.items()]
