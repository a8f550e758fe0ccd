"""What opening a case checks beyond its data: the round's open rules, re-filing and live duplicates.

Each check reads at most one query's worth of state and raises the refusal naming its rule;
the engine's ``open_case`` runs them in its transaction before it inserts anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from workflow.decide import guard_context
from workflow.definition import Actor
from workflow.errors import GuardRefused
from workflow.process import CompiledProcess
from workflow.tables import cases
from workflow.workdays import WorkingDayCalendar
from workflow.writes import live_key


def check_open_guards(
    process: CompiledProcess,
    code: str,
    data: Mapping[str, Any],
    actor: Actor,
    *,
    now: datetime,
    calendar: WorkingDayCalendar,
) -> None:
    """The definition's rules for opening a case at all (e.g. a round whose window has closed)."""
    context = guard_context(
        process,
        case_id=None,
        applicant_code=code,
        state=process.definition.initial,
        data=data,
        payload={},
        actor=actor,
        now=now,
        calendar=calendar,
        submitted_at=None,
    )
    for guard in process.definition.open_guards:
        refusal = guard.evaluate(context)
        if refusal is not None:
            raise GuardRefused(refusal.reason, field=refusal.field, rule=refusal.rule, **refusal.structure())


def check_refiling(conn: sa.Connection, process: CompiledProcess, code: str) -> None:
    """Refuse a new case when an earlier one of the applicant in this round ended in a blocking state."""
    blocking = process.definition.refiling_blocked_by
    rule = process.definition.unique_live_case_rule
    if not blocking or rule is None:
        return
    earlier = conn.execute(
        sa.select(cases.c.id, cases.c.state)
        .where(cases.c.program_key == process.key, cases.c.applicant_code == code, cases.c.state.in_(blocking))
        .order_by(cases.c.id)
        .limit(1)
    ).first()
    if earlier is not None:
        label = {s.key: s.label for s in process.definition.states}.get(earlier.state, earlier.state)
        raise GuardRefused(
            f"applicant {code} already filed this matter in {process.key} (case {earlier.id}, {label}): "
            "the same matter may not be filed twice; staff may reopen that case by override with a reason",
            field="applicant.code",
            rule=rule,
            code="already_filed",
            params={"applicant": code, "case": earlier.id, "state": earlier.state},
        )


def check_unique_live(conn: sa.Connection, process: CompiledProcess, code: str) -> str | None:
    """Refuse a second live case of the applicant in the round; the live key the new one will hold."""
    rule = process.definition.unique_live_case_rule
    key = live_key(process.definition, code)
    if rule is None or key is None:
        return None
    existing = conn.execute(sa.select(cases.c.id).where(cases.c.live_key == key)).scalar()
    if existing is not None:
        raise GuardRefused(
            f"applicant {code} already has live case {existing} in {process.key}: "
            "no duplicate filing of the same matter",
            field="applicant.code",
            rule=rule,
            code="live_case_exists",
            params={"applicant": code, "case": existing},
        )
    return key
