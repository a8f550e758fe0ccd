"""A new round is data, not code: 2026 rounds of both programs in a few lines; versions stay pinned."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings
from states import longgang_ai_compute_2025 as longgang
from states import shenzhen_training_voucher_2024 as shenzhen
from tests.support.catalogs import without_state
from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, STAFF, applicant, complete_data, sh
from tests.support.shenzhen import voucher_data
from workflow.clock import SHANGHAI, ManualClock
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.process import ProgramCatalog

LONGGANG_2026 = replace(
    longgang.LONGGANG_2025,
    key="longgang-ai-compute-2026",
    year=2026,
    window_opens=date(2026, 8, 10),
    window_closes=date(2026, 9, 10),
    paper_working_days=7,
    publicity_working_days=3,
)
SHENZHEN_2026 = replace(
    shenzhen.SHENZHEN_2024,
    key="shenzhen-training-voucher-2026",
    year=2026,
    opens_at=datetime(2026, 3, 2, tzinfo=SHANGHAI),
    closes_at=datetime(2026, 3, 20, 17, 0, tzinfo=SHANGHAI),
    guide_published=date(2026, 3, 1),
)


@pytest.fixture
def rounds(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    v1 = longgang.build()
    catalog = ProgramCatalog(
        [
            v1,
            without_state(v1, "objection_review", version=2),
            longgang.build(LONGGANG_2026),
            shenzhen.build(),
            shenzhen.build(SHENZHEN_2026),
        ]
    )
    engine = bootstrap(settings, clock=clock, programs=catalog)
    yield engine
    engine.database.dispose()


def test_a_2026_round_of_each_program_runs_a_case(rounds: Engine, clock: ManualClock) -> None:
    # LG-WIN-1 and LG-DL-1 with the 2026 parameters; SZ-WIN-1 and SZ-AMT-1 likewise
    clock.set(sh("2026-08-20 10:00"))
    case = rounds.open_case(LONGGANG_2026.key, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        rounds.fire(case.id, event, actor=actor)
    clock.set(sh("2026-09-25 10:00"))  # Friday before National Day 2026
    paper = rounds.fire(case.id, "approve_on_portal", actor=STAFF).deadlines[0]
    assert paper.working_days == 7
    assert paper.due_at == sh("2026-10-13 00:00")  # 28, 29, 30, (Oct 1-7 off), 8, 9, 10 (make-up Sat), 12
    rounds.fire(case.id, "receive_paper", actor=STAFF, payload={"service_window": 3})
    clock.set(sh("2026-10-14 10:00"))  # Wed: the round's 3-day publicity (LG-FLOW-6): Thu 15, Fri 16, Mon 19
    publicity = rounds.fire(case.id, "start_publicity", actor=STAFF).deadlines[0]
    assert (publicity.key, publicity.working_days, publicity.due_at) == ("publicity_period", 3, sh("2026-10-20 00:00"))
    clock.set(sh("2026-03-10 10:00"))
    voucher = rounds.open_case(
        SHENZHEN_2026.key, applicant=applicant(2), data=voucher_data("1000000.00"), actor=PLATFORM
    )
    assert rounds.fire(voucher.id, "submit", actor=PLATFORM).state == "pending_acceptance"
    assert voucher.amount_fen == 50_000_000
    for event in ("accept", "pass_preliminary", "pass_expert_review"):
        rounds.fire(voucher.id, event, actor=STAFF)
    clock.set(sh("2026-04-10 10:00"))
    assert rounds.expire_due() == [(voucher.id, "publicity_period")]
    rounds.fire(voucher.id, "approve", actor=STAFF)
    issued = rounds.fire(
        voucher.id, "issue_voucher", actor=STAFF, payload={"approval_document": "深科技创新〔2026〕8号"}
    )
    assert (issued.state, issued.program, issued.amount_fen) == ("voucher_issued", SHENZHEN_2026.key, 50_000_000)


def test_cases_stay_pinned_and_migrate_with_an_explicit_mapping(
    rounds: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    # A v1 case in a state v2 dropped cannot be left behind: the mapping must say where it goes
    old = rounds.programs.get(longgang.LONGGANG_2025.key, 1)
    before_v2 = bootstrap(
        Settings(database_url=str(rounds.database.url), audit_key=audit_key.decode()),
        clock=clock,
        programs=ProgramCatalog([longgang.build()]),
    )
    case_id = before_v2.open_case(old.key, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    before_v2.database.dispose()
    newer = rounds.open_case(old.key, applicant=applicant(2), data=complete_data(), actor=PLATFORM)
    assert newer.program_version == 2, "new cases open on the newest version"
    assert rounds.get_case(case_id).program_version == 1, "an open case stays on the version it started with"
    rounds.override(case_id, "objection_review", actor=STAFF, reason="公示期收到异议")  # a state only v1 has
    before = database_image(rounds)
    with pytest.raises(InvalidInput) as refused:
        rounds.migrate_cases(old.key, from_version=1, to_version=2, mapping={}, actor=STAFF, reason="v2")
    assert refused.value.field == "mapping.objection_review"
    with pytest.raises(InvalidInput):
        rounds.migrate_cases(
            old.key, from_version=1, to_version=2, mapping={"objection_review": "limbo"}, actor=STAFF, reason="v2"
        )
    assert database_image(rounds) == before
    dry = rounds.migrate_cases(
        old.key,
        from_version=1,
        to_version=2,
        mapping={"objection_review": "awaiting_decision"},
        actor=STAFF,
        reason="v2 取消异议环节",
        dry_run=True,
    )
    assert dry.moves == ((case_id, "objection_review", "awaiting_decision"),)
    assert database_image(rounds) == before
    rounds.migrate_cases(
        old.key,
        from_version=1,
        to_version=2,
        mapping={"objection_review": "awaiting_decision"},
        actor=STAFF,
        reason="v2 取消异议环节",
    )
    case = rounds.get_case(case_id)
    assert (case.program_version, case.state) == (2, "awaiting_decision")
    last = rounds.history(case_id)[-1]
    assert (last.kind, last.old_values, last.new_values["program_version"]) == (
        "migration",
        {"program_version": 1, "state": "objection_review"},
        2,
    )
    assert_invariants(rounds, audit_key)


def test_a_migration_that_would_strand_an_open_deadline_is_refused(
    settings: Settings, clock: ManualClock, audit_key: bytes
) -> None:
    # LG-DL-1: a v3 without the paper deadline could never expire the one a v1 case is running
    v1 = longgang.build()
    paperless = replace(
        v1,
        version=3,
        states=tuple(replace(s, opens=()) if s.key == "awaiting_paper" else s for s in v1.states),
        deadlines=tuple(d for d in v1.deadlines if d.key != "paper_delivery"),
        events=tuple(e for e in v1.events if e.name != "miss_paper_deadline"),
    )
    first = bootstrap(settings, clock=clock, programs=ProgramCatalog([v1]))  # opened before v3 existed
    case = first.open_case(v1.key, applicant=applicant(1), data=complete_data(), actor=PLATFORM)
    for event, actor in (
        ("submit", PLATFORM),
        ("pass_online_review", STAFF),
        ("file_on_portal", PLATFORM),
        ("approve_on_portal", STAFF),
    ):
        first.fire(case.id, event, actor=actor)
    first.database.dispose()
    engine = bootstrap(settings, clock=clock, programs=ProgramCatalog([v1, paperless]))
    try:
        before = database_image(engine)
        with pytest.raises(InvalidInput) as refused:
            engine.migrate_cases(v1.key, from_version=1, to_version=3, mapping={}, actor=STAFF, reason="v3")
        assert refused.value.field == "mapping.awaiting_paper"
        assert "paper_delivery" in str(refused.value)
        assert database_image(engine) == before
        engine.migrate_cases(
            v1.key, from_version=1, to_version=3, mapping={"awaiting_paper": "evaluation"}, actor=STAFF, reason="v3"
        )
        moved = engine.get_case(case.id)
        assert (moved.program_version, moved.state, moved.deadlines) == (3, "evaluation", ())
        assert_invariants(engine, audit_key)
    finally:
        engine.database.dispose()
