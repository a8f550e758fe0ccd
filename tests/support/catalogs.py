"""Extra program definitions a platform could register with ``FILINGFLOW_PROGRAMS=module:function``."""

from __future__ import annotations

from dataclasses import replace

from states import longgang_ai_compute_2025 as longgang
from workflow.definition import ProcessDefinition


def without_state(definition: ProcessDefinition, state: str, *, version: int) -> ProcessDefinition:
    """A later version of a definition that drops a state (and the events that only serve it)."""
    events = tuple(
        replace(e, sources=tuple(s for s in e.sources if s != state))
        for e in definition.events
        if e.target != state and [s for s in e.sources if s != state]
    )
    return replace(
        definition, version=version, states=tuple(s for s in definition.states if s.key != state), events=events
    )


def longgang_v2() -> list[ProcessDefinition]:
    """Version 2 of the 2025 Longgang round: the office drops the separate objection stage."""
    return [without_state(longgang.build(), "objection_review", version=2)]
