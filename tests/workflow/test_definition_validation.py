"""A definition is checked when loaded: every inconsistency is a DefinitionError naming it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from states.longgang_ai_compute_2025 import build
from workflow.definition import DeadlineRule, Event, PayloadField, ProcessDefinition, State
from workflow.errors import DefinitionError
from workflow.process import CompiledProcess, ProgramCatalog

ANY = frozenset({"staff"})


def _tiny(**changes: object) -> ProcessDefinition:
    base = ProcessDefinition(
        key="tiny",
        version=1,
        title="tiny",
        initial="a",
        states=(State("a", "甲"), State("b", "乙", final=True)),
        events=(Event("go", "走", ("a",), "b", ANY),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_consistent_definition_compiles() -> None:
    process = CompiledProcess(_tiny())
    assert process.move("a", "go") == "b"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"initial": "zzz"}, "initial state 'zzz'"),
        ({"states": (State("a", "甲"), State("a", "甲"), State("b", "乙", final=True))}, "duplicate state 'a'"),
        ({"events": (Event("go", "走", ("a",), "b", ANY), Event("go", "走", ("a",), "b", ANY))}, "duplicate event"),
        ({"events": (Event("go", "走", ("a",), "nowhere", ANY),)}, "unknown state 'nowhere'"),
        ({"events": (Event("go", "走", ("a",), "b", frozenset({"wizard"})),)}, "unknown or no roles"),
        (
            {"states": (State("a", "甲"), State("b", "乙", final=True), State("c", "丙", final=True))},
            "unreachable states ['c']",
        ),
        (
            {
                "states": (State("a", "甲"), State("b", "乙")),
            },
            "non-final state 'b' is a dead end",
        ),
        (
            {
                "states": (State("a", "甲", final=True), State("b", "乙", final=True)),
            },
            "final state 'a' has outgoing events",
        ),
        ({"states": (State("a", "甲", opens=("later",)), State("b", "乙", final=True))}, "unknown deadline 'later'"),
        (
            {
                "deadlines": (
                    DeadlineRule("later", "X-1", "l", "go", working_days=5, due=datetime(2025, 1, 1, tzinfo=UTC)),
                ),
            },
            "exactly one of working_days or due",
        ),
        ({"deadlines": (DeadlineRule("later", "X-1", "l", "vanish", working_days=5),)}, "unknown event 'vanish'"),
        ({"publicity_states": ("gazette",)}, "publicity state 'gazette' is not a state"),
        (  # a form would offer an empty select: the reference list it names is not there
            {
                "events": (
                    Event(
                        "go",
                        "走",
                        ("a",),
                        "b",
                        ANY,
                        payload=(PayloadField("desk", "integer", minimum=1, maximum=9, choices="desks"),),
                    ),
                )
            },
            "takes its choices from reference['desks'], not a list",
        ),
    ],
)
def test_inconsistent_definitions_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        CompiledProcess(_tiny(**changes))
    assert message in str(refused.value)
    assert "tiny v1" in str(refused.value)


def test_the_longgang_definition_is_valid_and_builds_one_machine() -> None:
    catalog = ProgramCatalog([build()])
    process = catalog.get("longgang-ai-compute-2025")
    assert process.version == 1
    assert process.move("draft", "submit") == "online_review"
    assert catalog.get("longgang-ai-compute-2025", 1) is process, "one compiled process (and Machine) per definition"
