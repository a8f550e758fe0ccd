"""Checks a process definition when it is loaded, so a broken one never runs a case.

Refused with :class:`~workflow.errors.DefinitionError`: duplicate state keys or event
names, a reference to an unknown state, deadline or event, an unknown role, a state no
event reaches from the initial one, a non-final state with no way out (a dead end), a
final state with a way out, a deadline rule that is neither or both of
working-day and fixed, a payload field of an unknown kind, without bounds (integers) or
named like an engine key, a required key no field declares, and a deadline that starts
from a payload instant some event entering its state does not declare.
"""

from __future__ import annotations

from collections import Counter
from typing import NoReturn

from workflow.definition import (
    ENGINE_PAYLOAD_KEYS,
    PAYLOAD_KINDS,
    ROLES,
    DeadlineRule,
    Event,
    PayloadField,
    ProcessDefinition,
)
from workflow.errors import DefinitionError


def validate_definition(definition: ProcessDefinition) -> None:
    """Raise :class:`DefinitionError` naming the first inconsistency found."""
    for check in (
        _unique_names,
        _initial_state,
        _events,
        _payloads,
        _opened_deadlines,
        _deadline_rules,
        _exits,
        _reachable,
        _publicity_states,
    ):
        check(definition)


def _fail(definition: ProcessDefinition, message: str, **context: str) -> NoReturn:
    raise DefinitionError(f"{definition.key} v{definition.version}: {message}", **context)  # type: ignore[arg-type]


def _unique_names(definition: ProcessDefinition) -> None:
    for kind, names in (
        ("state", [s.key for s in definition.states]),
        ("event", [e.name for e in definition.events]),
        ("deadline", [d.key for d in definition.deadlines]),
    ):
        for name, count in Counter(names).items():
            if count > 1:
                _fail(definition, f"duplicate {kind} {name!r}", field=kind)


def _initial_state(definition: ProcessDefinition) -> None:
    if definition.initial not in {s.key for s in definition.states}:
        _fail(definition, f"initial state {definition.initial!r} is not a state", field="initial")


def _events(definition: ProcessDefinition) -> None:
    states = {s.key for s in definition.states}
    for event in definition.events:
        for ref in (*event.sources, event.target):
            if ref not in states:
                _fail(definition, f"event {event.name!r} names unknown state {ref!r}", event=event.name)
        if not event.sources:
            _fail(definition, f"event {event.name!r} has no source state", event=event.name)
        if not event.roles or not event.roles <= ROLES:
            _fail(definition, f"event {event.name!r} has unknown or no roles {sorted(event.roles)}", event=event.name)


def _payloads(definition: ProcessDefinition) -> None:
    for event in definition.events:
        names = [f.name for f in event.payload]
        for spec in event.payload:
            _payload_field(definition, event, spec, names)
        for key in event.requires:
            if key != "reason" and key not in names:
                message = f"event {event.name!r} requires {key!r}, which it does not declare"
                _fail(definition, message, event=event.name)


def _payload_field(definition: ProcessDefinition, event: Event, spec: PayloadField, names: list[str]) -> None:
    where = f"event {event.name!r} payload field {spec.name!r}"
    if spec.name in ENGINE_PAYLOAD_KEYS or names.count(spec.name) > 1:
        _fail(definition, f"{where} is an engine key or declared twice", event=event.name)
    if spec.kind not in PAYLOAD_KINDS:
        _fail(definition, f"{where} has unknown kind {spec.kind!r}", event=event.name)
    if spec.kind == "integer" and (spec.minimum is None or spec.maximum is None):
        _fail(definition, f"{where} needs a minimum and a maximum", event=event.name)
    if isinstance(spec.choices, str) and not isinstance(definition.reference.get(spec.choices), list | tuple):
        _fail(definition, f"{where} takes its choices from reference[{spec.choices!r}], not a list", event=event.name)


def _publicity_states(definition: ProcessDefinition) -> None:
    states = {s.key for s in definition.states}
    for key in definition.publicity_states:
        if key not in states:
            _fail(definition, f"publicity state {key!r} is not a state", field="publicity_states")


def _opened_deadlines(definition: ProcessDefinition) -> None:
    deadlines = {d.key for d in definition.deadlines}
    for state in definition.states:
        for key in state.opens:
            if key not in deadlines:
                _fail(definition, f"state {state.key!r} opens unknown deadline {key!r}", field="opens")


def _deadline_rules(definition: ProcessDefinition) -> None:
    events = {e.name for e in definition.events}
    for rule in definition.deadlines:
        if (rule.working_days is None) == (rule.due is None):
            _fail(definition, f"deadline {rule.key!r} needs exactly one of working_days or due", field="deadlines")
        if rule.working_days is not None and rule.working_days <= 0:
            _fail(definition, f"deadline {rule.key!r} needs a positive number of working days", field="deadlines")
        if rule.due is not None and rule.due.tzinfo is None:
            _fail(definition, f"deadline {rule.key!r} has a naive due time", field="deadlines")
        for name in (rule.on_expiry, *rule.met_by):
            if name not in events:
                _fail(definition, f"deadline {rule.key!r} names unknown event {name!r}", field="deadlines")
        _deadline_start(definition, rule)


def _deadline_start(definition: ProcessDefinition, rule: DeadlineRule) -> None:
    """A deadline that starts from a payload instant: every event entering its state declares it."""
    if rule.starts_from is None:
        return
    opening = {s.key for s in definition.states if rule.key in s.opens}
    for event in definition.events:
        kinds = {f.name: f.kind for f in event.payload}
        if event.target in opening and kinds.get(rule.starts_from) != "instant":
            _fail(
                definition,
                f"deadline {rule.key!r} starts from {rule.starts_from!r}, "
                f"which event {event.name!r} does not declare as an instant",
                field="deadlines",
            )


def _outgoing(definition: ProcessDefinition) -> dict[str, list[Event]]:
    return {s.key: [e for e in definition.events if s.key in e.sources] for s in definition.states}


def _exits(definition: ProcessDefinition) -> None:
    outgoing = _outgoing(definition)
    for state in definition.states:
        if state.final and outgoing[state.key]:
            _fail(definition, f"final state {state.key!r} has outgoing events", field="states")
        if not state.final and not outgoing[state.key]:
            _fail(definition, f"non-final state {state.key!r} is a dead end (no event leaves it)", field="states")


def _reachable(definition: ProcessDefinition) -> None:
    outgoing = _outgoing(definition)
    reached = {definition.initial}
    frontier = [definition.initial]
    while frontier:
        current = frontier.pop()
        for event in outgoing[current]:
            if event.target not in reached:
                reached.add(event.target)
                frontier.append(event.target)
    unreachable = sorted({s.key for s in definition.states} - reached)
    if unreachable:
        _fail(definition, f"unreachable states {unreachable}", field="states")
