"""Whole-database invariant checks that every storage test can end with (RELIABILITY.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workflow.audit import verify_chains
from workflow.engine import Engine
from workflow.tables import audit_events, calendar_overrides, cases, deadlines, idempotency_keys, listings, notices

ALL_TABLES = (cases, audit_events, deadlines, notices, idempotency_keys, calendar_overrides, listings)


def database_image(engine: Engine) -> dict[str, Any]:
    """Every row of every table, to compare before and after a refused command."""
    with engine.database.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in ALL_TABLES
        }


def assert_invariants(engine: Engine, key: bytes) -> None:
    with engine.database.connect() as conn:
        versions = dict(conn.execute(sa.select(cases.c.id, cases.c.version)).all())
        counts = dict(
            conn.execute(sa.select(audit_events.c.case_id, sa.func.count()).group_by(audit_events.c.case_id)).all()
        )
        assert versions == counts, "every case's version equals its number of audit events"
        awaiting = conn.execute(sa.select(cases.c.id).where(cases.c.state == "awaiting_paper")).scalars().all()
        for case_id in awaiting:
            pending = conn.execute(
                sa.select(sa.func.count()).where(
                    deadlines.c.case_id == case_id,
                    deadlines.c.key == "paper_delivery",
                    deadlines.c.status.in_(("pending", "suspended", "failed")),  # failed: waiting for a person
                )
            ).scalar()
            assert pending == 1, f"case {case_id} awaiting paper has exactly one running paper deadline"
        capped = {(p.key, p.version) for p in engine.programs if p.definition.cap_group}
        shared = conn.execute(
            sa.select(cases.c.id, cases.c.amount_fen, cases.c.program_key, cases.c.program_version).where(
                cases.c.program_key.in_([program for program, _ in capped]), cases.c.final.is_(False)
            )
        ).all()
        for case_id, stored, program, version in shared:
            if (program, version) not in capped:  # a version this engine does not load (migrated by another process)
                continue
            allocated = engine.explain_amount(case_id)
            assert stored == (allocated.fen if allocated else None), f"case {case_id}'s amount follows the shared cap"
        report = verify_chains(conn, key)
        assert report.ok, [str(b) for b in report.broken]
        if conn.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
