"""Engine commands: bad input changes nothing, stale versions conflict, keys replay, overrides audit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import ADMIN, APPLICANT, PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import (
    CaseNotFound,
    ConflictError,
    GuardRefused,
    IdempotencyKeyReused,
    InvalidInput,
    NotPermitted,
    TransitionNotAllowed,
    UnknownEvent,
    UnknownProgram,
    UnknownState,
)


@pytest.fixture
def case_id(engine: Engine) -> int:
    return engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id


def _refuses(engine: Engine, error: type[Exception], call: Any) -> Any:
    before = database_image(engine)
    with pytest.raises(error) as raised:
        call()
    assert database_image(engine) == before, "a refused command writes nothing"
    return raised.value


@pytest.mark.parametrize(
    ("person", "field"),
    [
        ({**applicant(), "code": "91440300000000001X"}, "applicant.code"),  # wrong check digit (GB 32100-2015)
        ({**applicant(), "code": "9144030000000001"}, "applicant.code"),
        ({**applicant(), "code": "91440300000000I01H"}, "applicant.code"),
        ({**applicant(), "name": " "}, "applicant.name"),
        ({**applicant(), "name": "\u200b\u200b"}, "applicant.name"),  # zero-width only: nothing to read
        ({**applicant(), "email": "not-an-address"}, "applicant.email"),
        ({**applicant(), "phone": "12345"}, "applicant.phone"),
        ({**applicant(), "email": None, "phone": None}, "applicant.email"),
    ],
)
def test_bad_applicant_is_refused_naming_the_field(engine: Engine, person: dict[str, Any], field: str) -> None:
    error = _refuses(engine, InvalidInput, lambda: engine.open_case(PROGRAM, applicant=person, data={}, actor=PLATFORM))
    assert error.field == field


def test_unknown_program_is_refused(engine: Engine) -> None:
    error = _refuses(
        engine,
        UnknownProgram,
        lambda: engine.open_case("no-such-round", applicant=applicant(), data={}, actor=PLATFORM),
    )
    assert error.field == "program"


def test_unknown_case_and_event(engine: Engine, case_id: int) -> None:
    assert _refuses(engine, CaseNotFound, lambda: engine.fire(999, "submit", actor=PLATFORM)).case_id == 999
    error = _refuses(engine, UnknownEvent, lambda: engine.fire(case_id, "approve_everything", actor=STAFF))
    assert (error.event, error.field) == ("approve_everything", "event")


def test_event_not_allowed_in_the_current_state(engine: Engine, case_id: int) -> None:
    error = _refuses(engine, TransitionNotAllowed, lambda: engine.fire(case_id, "fund", actor=STAFF))
    assert (error.state, error.event, error.case_id) == ("draft", "fund", case_id)


def test_role_that_may_not_fire_the_event(engine: Engine, case_id: int) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM)
    error = _refuses(engine, NotPermitted, lambda: engine.fire(case_id, "pass_online_review", actor=APPLICANT))
    assert error.field == "role"
    _refuses(engine, NotPermitted, lambda: engine.fire(case_id, "withdraw", actor=Actor("x", "system")))


def test_required_payload_and_reason(engine: Engine, case_id: int) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM)
    error = _refuses(engine, InvalidInput, lambda: engine.fire(case_id, "return_for_correction", actor=STAFF))
    assert error.field == "payload.reason"
    error = _refuses(
        engine,
        InvalidInput,
        lambda: engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": "   "}),
    )
    assert error.field == "payload.reason"
    error = _refuses(
        engine,
        InvalidInput,
        lambda: engine.fire(case_id, "pass_online_review", actor=STAFF, payload={"data": {"fees_cny": "1"}}),
    )
    assert error.field == "payload.data"


def test_stale_version_conflicts_and_writes_nothing(engine: Engine, case_id: int) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM, expected_version=1)
    error = _refuses(
        engine,
        ConflictError,
        lambda: engine.fire(case_id, "return_for_correction", actor=STAFF, payload={"reason": "x"}, expected_version=1),
    )
    assert (error.expected, error.actual, error.field) == (1, 2, "version")


def test_idempotent_replay_returns_the_first_result_and_writes_nothing(engine: Engine, case_id: int) -> None:
    first = engine.fire(case_id, "submit", actor=PLATFORM, idempotency_key="k-1")
    before = database_image(engine)
    replay = engine.fire(case_id, "submit", actor=PLATFORM, idempotency_key="k-1")
    assert replay == first
    assert database_image(engine) == before


def test_idempotency_key_with_a_different_command_is_refused(engine: Engine, case_id: int) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM, idempotency_key="k-2")
    error = _refuses(
        engine, IdempotencyKeyReused, lambda: engine.fire(case_id, "withdraw", actor=PLATFORM, idempotency_key="k-2")
    )
    assert error.field == "idempotency_key"


def test_idempotency_keys_are_scoped_per_caller(engine: Engine) -> None:
    one = engine.open_case(PROGRAM, applicant=applicant(1), data={}, actor=PLATFORM, idempotency_key="open")
    other_caller = Actor("another-backend", "platform")
    two = engine.open_case(PROGRAM, applicant=applicant(2), data={}, actor=other_caller, idempotency_key="open")
    assert one.id != two.id
    assert engine.open_case(PROGRAM, applicant=applicant(1), data={}, actor=PLATFORM, idempotency_key="open") == one


def test_open_replay_does_not_trip_the_duplicate_filing_rule(engine: Engine) -> None:
    # LG-ELIG-2 must not refuse a retried open: the replay returns the first case
    first = engine.open_case(PROGRAM, applicant=applicant(3), data={}, actor=PLATFORM, idempotency_key="o-3")
    assert engine.open_case(PROGRAM, applicant=applicant(3), data={}, actor=PLATFORM, idempotency_key="o-3") == first
    with pytest.raises(GuardRefused):
        engine.open_case(PROGRAM, applicant=applicant(3), data={}, actor=PLATFORM, idempotency_key="o-4")


def test_override_moves_the_case_and_is_audited(engine: Engine, case_id: int, audit_key: bytes) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM)
    outcome = engine.override(case_id, "awaiting_paper", actor=STAFF, reason="线下已核验，直接进入纸质材料环节")
    assert (outcome.from_state, outcome.to_state, outcome.dry_run) == ("online_review", "awaiting_paper", False)
    assert outcome.deadlines_opened == ("paper_delivery",)
    assert "override/sms" in outcome.notices
    case = engine.get_case(case_id)
    assert case.state == "awaiting_paper"
    last = engine.history(case_id)[-1]
    assert (last.kind, last.actor, last.role, last.from_state, last.to_state) == (
        "override",
        STAFF.name,
        "staff",
        "online_review",
        "awaiting_paper",
    )
    assert last.reason == "线下已核验，直接进入纸质材料环节"
    assert_invariants(engine, audit_key)


def test_override_dry_run_reports_and_writes_nothing(engine: Engine, case_id: int) -> None:
    before = database_image(engine)
    outcome = engine.override(case_id, "funded", actor=ADMIN, reason="演示", dry_run=True)
    assert (outcome.to_state, outcome.dry_run, outcome.version) == ("funded", True, 1)
    assert outcome.deadlines_closed == ("online_window",)
    assert database_image(engine) == before


@pytest.mark.parametrize(
    ("actor", "target", "reason", "error", "field"),
    [
        (PLATFORM, "funded", "x", NotPermitted, "role"),
        (APPLICANT, "funded", "x", NotPermitted, "role"),
        (STAFF, "funded", "", InvalidInput, "reason"),
        (STAFF, "funded", "  ", InvalidInput, "reason"),
        (STAFF, "paradise", "x", UnknownState, "state"),
        (STAFF, "draft", "x", InvalidInput, "target"),
    ],
)
def test_override_refusals(
    engine: Engine, case_id: int, actor: Actor, target: str, reason: str, error: type[Exception], field: str
) -> None:
    raised = _refuses(engine, error, lambda: engine.override(case_id, target, actor=actor, reason=reason))
    assert raised.field == field


def test_override_back_to_life_keeps_no_duplicate_filing(engine: Engine, case_id: int, audit_key: bytes) -> None:
    # LG-ELIG-2: a withdrawn case forced back into review is live again, so one applicant never has two
    engine.fire(case_id, "withdraw", actor=PLATFORM)
    second = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    refused = _refuses(
        engine, GuardRefused, lambda: engine.override(case_id, "online_review", actor=STAFF, reason="撤回系误操作")
    )
    assert (refused.rule, refused.field) == ("LG-ELIG-2", "applicant.code")
    engine.fire(second, "withdraw", actor=PLATFORM)
    engine.override(case_id, "online_review", actor=STAFF, reason="撤回系误操作")
    _refuses(
        engine,
        GuardRefused,
        lambda: engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM),
    )
    assert_invariants(engine, audit_key)


def test_override_idempotency_key_replays_and_dry_runs_never_record_it(engine: Engine, case_id: int) -> None:
    first = engine.override(case_id, "online_review", actor=STAFF, reason="补录", idempotency_key="ov-1")
    before = database_image(engine)
    again = engine.override(case_id, "online_review", actor=STAFF, reason="补录", idempotency_key="ov-1")
    assert again == first
    assert database_image(engine) == before, "a replay writes nothing"
    _refuses(
        engine,
        IdempotencyKeyReused,
        lambda: engine.override(case_id, "funded", actor=STAFF, reason="补录", idempotency_key="ov-1"),
    )
    dry = engine.override(case_id, "funded", actor=STAFF, reason="演示", dry_run=True, idempotency_key="ov-2")
    assert dry.dry_run
    real = engine.override(case_id, "funded", actor=STAFF, reason="演示", idempotency_key="ov-2")
    assert (real.dry_run, real.version) == (False, 3), "the dry run did not take the key"


def test_override_with_a_stale_version_conflicts(engine: Engine, case_id: int) -> None:
    engine.fire(case_id, "submit", actor=PLATFORM)
    _refuses(
        engine, ConflictError, lambda: engine.override(case_id, "funded", actor=STAFF, reason="x", expected_version=1)
    )


def test_nul_characters_are_refused_at_the_door(engine: Engine, case_id: int) -> None:
    # PostgreSQL text cannot hold NUL: refuse it on every backend, naming the field, before anything is written
    bad = {**applicant(5), "name": "深圳\x00公司"}
    error = _refuses(engine, InvalidInput, lambda: engine.open_case(PROGRAM, applicant=bad, data={}, actor=PLATFORM))
    assert error.field == "applicant.name"
    error = _refuses(
        engine,
        InvalidInput,
        lambda: engine.open_case(PROGRAM, applicant=applicant(6), data={"supplier": {"name": "a\x00"}}, actor=PLATFORM),
    )
    assert error.field == "data.supplier.name"
    error = _refuses(
        engine, InvalidInput, lambda: engine.fire(case_id, "withdraw", actor=PLATFORM, payload={"note": "\x00"})
    )
    assert error.field == "payload.note"
    error = _refuses(engine, InvalidInput, lambda: engine.override(case_id, "funded", actor=STAFF, reason="x\x00"))
    assert error.field == "reason"


def test_deeply_nested_data_is_refused_naming_the_field(engine: Engine) -> None:
    nested: dict[str, Any] = {"leaf": "x"}
    for _ in range(5000):  # deeper than Python's recursion limit: an error naming the field, not a crash
        nested = {"n": nested}
    error = _refuses(
        engine, InvalidInput, lambda: engine.open_case(PROGRAM, applicant=applicant(5), data=nested, actor=PLATFORM)
    )
    assert error.field is not None
    assert error.field.startswith("data.n.n.n")
