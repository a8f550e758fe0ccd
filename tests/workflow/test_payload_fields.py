"""Issue 13.3: an event takes only the payload fields it declares, each checked against its type and limits.

An undeclared key would otherwise land in the audit trail's new values (and in notices):
``{"state": "funded"}``, ``amount_fen``, ``actor``, a 400-digit number. Refused naming
``payload.<key>``, nothing written, on both databases.
"""

from __future__ import annotations

import pytest

from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, complete_data
from workflow.clock import ManualClock
from workflow.definition import Event, PayloadField, ProcessDefinition, State
from workflow.engine import Engine
from workflow.errors import DefinitionError, InvalidInput
from workflow.process import CompiledProcess

HOSTILE = [
    ({"state": "funded"}, "payload.state"),
    ({"amount_fen": 600_000_000}, "payload.amount_fen"),
    ({"actor": "admin-chen"}, "payload.actor"),
    ({"role": "admin"}, "payload.role"),
    ({"n": 10**400}, "payload.n"),
    ({"reason": "撤回", "capacity_pflops_fp16": 10**400}, "payload.capacity_pflops_fp16"),
]


@pytest.mark.parametrize(("payload", "field"), HOSTILE)
def test_undeclared_payload_keys_are_refused_and_nothing_is_written(
    engine: Engine, payload: dict[str, object], field: str
) -> None:
    # issue 13.3 (LG-FLOW-1: withdraw takes only a reason)
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "withdraw", actor=PLATFORM, payload=payload)
    assert refused.value.field == field
    assert database_image(engine) == before


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (10**400, "payload.service_window"),
        (-1, "payload.service_window"),
        (1000, "payload.service_window"),
        (True, "payload.service_window"),
        (3.0, "payload.service_window"),
    ],
)
def test_a_declared_number_has_bounds(engine: Engine, clock: ManualClock, value: object, field: str) -> None:
    # LG-FLOW-5: the service window is a bounded whole number (the guard then checks it is one of the 13)
    case_id, _ = awaiting_paper(engine, clock, "2025-09-26 10:00")
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "receive_paper", actor=STAFF, payload={"service_window": value})
    assert refused.value.field == field
    assert database_image(engine) == before


def test_a_declared_text_has_a_length_limit(engine: Engine, clock: ManualClock) -> None:
    # LG-FLOW-5 (portal reference on the approval) and issue 13.3
    case_id = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM).id
    for event, actor in (("submit", PLATFORM), ("pass_online_review", STAFF), ("file_on_portal", PLATFORM)):
        engine.fire(case_id, event, actor=actor)
    with pytest.raises(InvalidInput) as refused:
        engine.fire(case_id, "approve_on_portal", actor=PLATFORM, payload={"portal_reference": "粤" * 101})
    assert refused.value.field == "payload.portal_reference"
    case = engine.fire(case_id, "approve_on_portal", actor=PLATFORM, payload={"portal_reference": " 粤政 #1 "})
    assert engine.history(case.id)[-1].new_values["payload"] == {"portal_reference": "粤政 #1"}


def test_every_event_of_both_programs_declares_its_fields(engine: Engine) -> None:
    # issue 13.3: integers are bounded; every required key is declared
    for process in engine.programs:
        for event in process.definition.events:
            for spec in event.payload:
                if spec.kind == "integer":
                    assert None not in (spec.minimum, spec.maximum), (process.key, event.name)
    longgang = engine.programs.get(PROGRAM).events
    assert {f.name for f in longgang["approve_on_portal"].payload} == {"portal_notified_at", "portal_reference"}
    assert [f.name for f in longgang["receive_paper"].payload if f.required] == ["service_window"]


def _tiny(event: Event) -> ProcessDefinition:
    return ProcessDefinition(
        key="tiny",
        version=1,
        title="tiny",
        initial="a",
        states=(State("a", "甲"), State("b", "乙", final=True)),
        events=(event,),
    )


@pytest.mark.parametrize(
    ("fields", "requires", "message"),
    [
        ((PayloadField("n", "integer"),), (), "needs a minimum and a maximum"),
        ((PayloadField("n", "float"),), (), "unknown kind"),
        ((PayloadField("reason", "text"),), (), "engine key"),
        ((PayloadField("n", "text"), PayloadField("n", "text")), (), "declared twice"),
        ((), ("document",), "does not declare"),
    ],
)
def test_a_bad_payload_declaration_is_refused_when_loaded(
    fields: tuple[PayloadField, ...], requires: tuple[str, ...], message: str
) -> None:
    # issue 13.3: checked when the definition is compiled, never halfway through a case
    event = Event("go", "走", ("a",), "b", frozenset({"staff"}), payload=fields, requires=requires)
    with pytest.raises(DefinitionError, match=message):
        CompiledProcess(_tiny(event))


@pytest.mark.parametrize(
    "capacity",
    [10**400, "1" + "0" * 400, "1E+400", "10000000.001", 10**5000],
    ids=["10^400", "400 digits as text", "1E+400", "just above the bound", "10^5000"],
)
def test_a_declared_capacity_has_an_upper_bound(engine: Engine, capacity: object) -> None:
    # issue 13.3 / LG-ELIG-5: a 10^400 PFLOPS capacity is refused, naming the field
    supplier = {**complete_data()["supplier"], "capacity_pflops_fp16": capacity}
    before = database_image(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(supplier=supplier), actor=PLATFORM)
    assert refused.value.field == "data.supplier.capacity_pflops_fp16"
    assert database_image(engine) == before
