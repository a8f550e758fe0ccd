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

from workflow.definition import ENGINE_PAYLOAD_KEYS, PAYLOAD_KINDS, ROLES, ProcessDefinition
from workflow.errors import DefinitionError


def validate_definition(definition: ProcessDefinition) -> None:
    """Raise :class:`DefinitionError` naming the first inconsistency found."""
    where = f"{definition.key} v{definition.version}"

    def fail(message: str, **context: str) -> None:
        raise DefinitionError(f"{where}: {message}", **context)  # type: ignore[arg-type]

    for kind, names in (
        ("state", [s.key for s in definition.states]),
        ("event", [e.name for e in definition.events]),
        ("deadline", [d.key for d in definition.deadlines]),
    ):
        for name, count in Counter(names).items():
            if count > 1:
                fail(f"duplicate {kind} {name!r}", field=kind)

    states = {s.key: s for s in definition.states}
    events = {e.name: e for e in definition.events}
    deadlines = {d.key: d for d in definition.deadlines}
    if definition.initial not in states:
        fail(f"initial state {definition.initial!r} is not a state", field="initial")

    for event in definition.events:
        for ref in (*event.sources, event.target):
            if ref not in states:
                fail(f"event {event.name!r} names unknown state {ref!r}", event=event.name)
        if not event.sources:
            fail(f"event {event.name!r} has no source state", event=event.name)
        if not event.roles or not event.roles <= ROLES:
            fail(f"event {event.name!r} has unknown or no roles {sorted(event.roles)}", event=event.name)

    for event in definition.events:
        names = [f.name for f in event.payload]
        for spec in event.payload:
            where = f"event {event.name!r} payload field {spec.name!r}"
            if spec.name in ENGINE_PAYLOAD_KEYS or names.count(spec.name) > 1:
                fail(f"{where} is an engine key or declared twice", event=event.name)
            if spec.kind not in PAYLOAD_KINDS:
                fail(f"{where} has unknown kind {spec.kind!r}", event=event.name)
            if spec.kind == "integer" and (spec.minimum is None or spec.maximum is None):
                fail(f"{where} needs a minimum and a maximum", event=event.name)
        for key in event.requires:
            if key != "reason" and key not in names:
                fail(f"event {event.name!r} requires {key!r}, which it does not declare", event=event.name)

    for state in definition.states:
        for key in state.opens:
            if key not in deadlines:
                fail(f"state {state.key!r} opens unknown deadline {key!r}", field="opens")

    for rule in definition.deadlines:
        if (rule.working_days is None) == (rule.due is None):
            fail(f"deadline {rule.key!r} needs exactly one of working_days or due", field="deadlines")
        if rule.working_days is not None and rule.working_days <= 0:
            fail(f"deadline {rule.key!r} needs a positive number of working days", field="deadlines")
        if rule.due is not None and rule.due.tzinfo is None:
            fail(f"deadline {rule.key!r} has a naive due time", field="deadlines")
        for name in (rule.on_expiry, *rule.met_by):
            if name not in events:
                fail(f"deadline {rule.key!r} names unknown event {name!r}", field="deadlines")
        if rule.starts_from is not None:
            opening = {s.key for s in definition.states if rule.key in s.opens}
            for event in definition.events:
                kinds = {f.name: f.kind for f in event.payload}
                if event.target in opening and kinds.get(rule.starts_from) != "instant":
                    fail(
                        f"deadline {rule.key!r} starts from {rule.starts_from!r}, "
                        f"which event {event.name!r} does not declare as an instant",
                        field="deadlines",
                    )

    outgoing = {key: [e for e in definition.events if key in e.sources] for key in states}
    for key, state in states.items():
        if state.final and outgoing[key]:
            fail(f"final state {key!r} has outgoing events", field="states")
        if not state.final and not outgoing[key]:
            fail(f"non-final state {key!r} is a dead end (no event leaves it)", field="states")

    reached = {definition.initial}
    frontier = [definition.initial]
    while frontier:
        current = frontier.pop()
        for event in outgoing[current]:
            if event.target not in reached:
                reached.add(event.target)
                frontier.append(event.target)
    unreachable = sorted(set(states) - reached)
    if unreachable:
        fail(f"unreachable states {unreachable}", field="states")
