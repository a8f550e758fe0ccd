"""Invariant 6: the audit trail is tamper-evident (edit, delete, reorder, truncate, rewrite)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow.audit import GENESIS, chain_hash, export_anchor, verify_chains
from workflow.engine import Engine
from workflow.tables import audit_events, cases, deadlines, notices


@pytest.fixture
def case_id(engine: Engine) -> int:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    engine.fire(case.id, "submit", actor=PLATFORM)
    engine.fire(case.id, "return_for_correction", actor=STAFF, payload={"reason": "缺少发票"})
    engine.fire(case.id, "resubmit", actor=PLATFORM)
    engine.open_case(PROGRAM, applicant=applicant(2), data={}, actor=PLATFORM)  # an untouched neighbour
    return case.id


def _tamper(engine: Engine, statement: Callable[[sa.Connection], object]) -> None:
    with engine.database.begin() as conn:
        statement(conn)


def _where(case_id: int, seq: int) -> sa.ColumnElement[bool]:
    return sa.and_(audit_events.c.case_id == case_id, audit_events.c.seq == seq)


def test_untouched_chains_verify(engine: Engine, case_id: int, audit_key: bytes) -> None:
    with engine.database.connect() as conn:
        report = verify_chains(conn, audit_key)
    assert (report.ok, report.cases, report.events) == (True, 2, 5)


def test_wrong_key_fails_verification(engine: Engine, case_id: int) -> None:
    with engine.database.connect() as conn:
        assert not verify_chains(conn, b"another key").ok


@pytest.mark.parametrize(
    ("name", "tamper", "seq", "problem"),
    [
        ("edit", lambda c, i: c.execute(audit_events.update().where(_where(i, 3)).values(reason="无")), 3, "hash"),
        ("delete", lambda c, i: c.execute(audit_events.delete().where(_where(i, 2))), 2, "missing"),
        (
            "reorder",
            lambda c, i: [
                c.execute(audit_events.update().where(_where(i, 2)).values(seq=-2)),
                c.execute(audit_events.update().where(_where(i, 3)).values(seq=2)),
                c.execute(audit_events.update().where(_where(i, -2)).values(seq=3)),
            ],
            2,
            "previous-hash",
        ),
        ("truncate", lambda c, i: c.execute(audit_events.delete().where(_where(i, 4))), None, "truncated"),
    ],
)
def test_tampering_is_detected(
    engine: Engine,
    case_id: int,
    audit_key: bytes,
    name: str,
    tamper: Callable[[sa.Connection, int], object],
    seq: int | None,
    problem: str,
) -> None:
    _tamper(engine, lambda conn: tamper(conn, case_id))
    with engine.database.connect() as conn:
        report = verify_chains(conn, audit_key)
    assert not report.ok, name
    (link,) = report.broken
    assert (link.case_id, link.seq) == (case_id, seq)
    assert problem in link.problem


def test_rewrite_and_rehash_without_the_key_is_detected(engine: Engine, case_id: int, audit_key: bytes) -> None:
    # An attacker edits event 2 and recomputes every later hash, with a key of their own.
    with engine.database.begin() as conn:
        rows = conn.execute(sa.select(audit_events).where(audit_events.c.case_id == case_id).order_by("seq")).mappings()
        prev = GENESIS
        for row in list(rows):
            event = dict(row)
            if event["seq"] == 2:
                event["actor"] = "someone-else"
            digest = chain_hash(b"guessed key", prev, event)
            conn.execute(
                audit_events.update()
                .where(audit_events.c.id == row["id"])
                .values(actor=event["actor"], prev_hash=prev, hash=digest)
            )
            prev = digest
        conn.execute(cases.update().where(cases.c.id == case_id).values(chain_head=prev))
    with engine.database.connect() as conn:
        report = verify_chains(conn, audit_key)
    assert [(b.case_id, b.seq) for b in report.broken] == [(case_id, 1)]


@pytest.mark.parametrize(
    ("column", "value"),
    [("state", "funded"), ("amount_fen", 1), ("applicant_name", "别家公司"), ("program_version", 2)],
)
def test_a_case_row_edited_outside_the_engine_is_caught(
    engine: Engine, case_id: int, audit_key: bytes, column: str, value: object
) -> None:
    # the row must be what replaying its trail gives: a direct UPDATE that skips the engine is tampering
    with engine.database.begin() as conn:
        conn.execute(cases.update().where(cases.c.id == case_id).values({column: value}))
    with engine.database.connect() as conn:
        report = verify_chains(conn, audit_key)
    (link,) = report.broken
    assert link.case_id == case_id
    assert f"{column} is" in link.problem


def test_truncated_tail_with_a_rewound_case_row_is_caught_by_the_anchor(
    engine: Engine, case_id: int, audit_key: bytes
) -> None:
    with engine.database.connect() as conn:
        anchor = export_anchor(conn, at=engine.clock.now())
    with engine.database.begin() as conn:
        previous, state = conn.execute(
            sa.select(audit_events.c.hash, audit_events.c.to_state).where(_where(case_id, 3))
        ).one()
        conn.execute(audit_events.delete().where(_where(case_id, 4)))
        conn.execute(cases.update().where(cases.c.id == case_id).values(version=3, chain_head=previous, state=state))
    with engine.database.connect() as conn:
        assert verify_chains(conn, audit_key).ok, "without the anchor the shorter, rewound chain looks whole"
        report = verify_chains(conn, audit_key, anchor=anchor)
    (link,) = report.broken
    assert (link.case_id, link.seq) == (case_id, 4)
    assert "truncated" in link.problem


def _neighbour_deadline(conn: sa.Connection, case_id: int) -> sa.ColumnElement[bool]:
    # the untouched neighbour draft's pending window deadline (LG-WIN-1)
    return sa.and_(deadlines.c.case_id == case_id + 1, deadlines.c.status == "pending")


def _move_neighbour_deadline(conn: sa.Connection, case_id: int, *, days: int) -> None:
    due = conn.execute(sa.select(deadlines.c.due_at).where(_neighbour_deadline(conn, case_id))).scalar_one()
    conn.execute(
        deadlines.update().where(_neighbour_deadline(conn, case_id)).values(due_at=due + datetime.timedelta(days=days))
    )


@pytest.mark.parametrize(
    ("name", "tamper", "problem"),
    [
        ("final", lambda c, i: c.execute(cases.update().where(cases.c.id == i).values(final=True)), "final is"),
        # LG-ELIG-2: with live_key cleared a second live case for the applicant could open
        ("live_key", lambda c, i: c.execute(cases.update().where(cases.c.id == i).values(live_key=None)), "live_key"),
        ("deadline moved", lambda c, i: _move_neighbour_deadline(c, i, days=30), "is due"),
        (
            "deadline met",
            lambda c, i: c.execute(deadlines.update().where(_neighbour_deadline(c, i)).values(status="met")),
            "is 'met', the trail says 'pending'",
        ),
        ("deadline deleted", lambda c, i: c.execute(deadlines.delete().where(_neighbour_deadline(c, i))), "is gone"),
        (
            "notice deleted",
            lambda c, i: c.execute(
                notices.delete().where(
                    notices.c.id == sa.select(sa.func.min(notices.c.id)).where(notices.c.case_id == i).scalar_subquery()
                )
            ),
            "queued by event",
        ),
    ],
)
def test_tampering_beside_the_trail_is_detected(
    engine: Engine,
    case_id: int,
    audit_key: bytes,
    name: str,
    tamper: Callable[[sa.Connection, int], object],
    problem: str,
) -> None:
    with engine.database.connect() as conn:
        assert verify_chains(conn, audit_key, programs=engine.programs).ok, "no false alarm before"
    _tamper(engine, lambda conn: tamper(conn, case_id))
    with engine.database.connect() as conn:
        report = verify_chains(conn, audit_key, programs=engine.programs)
    assert not report.ok, name
    (link,) = report.broken
    assert problem in link.problem, link.problem
