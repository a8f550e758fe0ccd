"""Event forms built from the program's declarations: one input per payload field, parsed by its kind.

The case page knows no program's fields: for each event it renders the event's declared
:class:`~workflow.definition.PayloadField` s (label, kind, limits, fixed choices from the
definition), and a posted form is read back by the same declarations, strictly: a whole
number is ASCII digits in range, a date is ``YYYY-MM-DD``, an instant is a local Shanghai
time (``datetime-local``) or one with an offset. A key the event does not declare, or a value
its kind refuses, is a 422 naming the field; everything else is for the engine to judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.api.problems import ApiProblem
from app.console.numbers import number
from app.console.web import Posted
from workflow.clock import SHANGHAI
from workflow.definition import Event, PayloadField, ProcessDefinition

FORM_KEYS = frozenset({"csrf", "event", "version", "reason"})  # what every event form posts besides its fields
INPUT_TYPES = {"text": "text", "integer": "number", "date": "date", "instant": "datetime-local"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:[0-9]{2})?")


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of an event's form, as the template renders it."""

    name: str
    label: str
    input_type: str
    required: bool
    minimum: int | None
    maximum: int | None
    max_length: int | None
    choices: tuple[tuple[str, str], ...]


def choices(definition: ProcessDefinition, spec: PayloadField) -> tuple[tuple[str, str], ...]:
    """The ``(value, label)`` pairs a field offers: given as pairs, or the numbered items of a reference list."""
    if spec.choices is None:
        return ()
    if not isinstance(spec.choices, str):
        return tuple((str(value), str(label)) for value, label in spec.choices)
    items = definition.reference.get(spec.choices, [])
    return tuple((str(item["number"]), f"{item['number']}. {item['name']}") for item in items)


def form_fields(definition: ProcessDefinition, event: Event) -> tuple[FormField, ...]:
    return tuple(
        FormField(
            name=spec.name,
            label=spec.label_zh or spec.name,
            input_type=INPUT_TYPES.get(spec.kind, "text"),
            required=spec.required,
            minimum=spec.minimum if spec.kind == "integer" else None,
            maximum=spec.maximum if spec.kind == "integer" else None,
            max_length=spec.max_length if spec.kind == "text" else None,
            choices=choices(definition, spec),
        )
        for spec in event.payload
    )


def forms(definition: ProcessDefinition) -> dict[str, tuple[FormField, ...]]:
    """The inputs of every event of a definition, by event name."""
    return {event.name: form_fields(definition, event) for event in definition.events}


def _invalid(field: str, detail: str) -> ApiProblem:
    return ApiProblem(422, "invalid-input", "Invalid input", f"{field}: {detail}", field=field)


def _value(spec: PayloadField, raw: str) -> Any:
    """A form text as the value ``spec``'s kind takes, or a 422 naming the field."""
    if spec.kind == "integer":
        return number(raw, spec.name, minimum=spec.minimum or 0, maximum=spec.maximum or 0)
    if spec.kind == "date":
        try:
            if not _DATE.fullmatch(raw):
                raise ValueError(raw)
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise _invalid(spec.name, f"{raw[:40]!r} is not a date YYYY-MM-DD") from None
    if spec.kind == "instant":
        try:
            if not _LOCAL.fullmatch(raw):
                raise ValueError(raw)
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise _invalid(spec.name, f"{raw[:40]!r} is not a date and time YYYY-MM-DDTHH:MM") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).isoformat()
    return raw


def payload(event: Event | None, posted: Posted) -> dict[str, Any]:
    """The payload a posted event form carries: ``reason`` and the event's declared fields, blanks left out."""
    declared: Mapping[str, PayloadField] = {spec.name: spec for spec in event.payload} if event else {}
    for key in posted.form:
        if key not in FORM_KEYS and key not in declared and posted.text(key).strip():
            taken = ", ".join(declared) or "none"
            raise _invalid(key, f"not a field of this event (it takes: {taken})")
    values: dict[str, Any] = {}
    if posted.text("reason").strip():
        values["reason"] = posted.text("reason")
    for name, spec in declared.items():
        raw = posted.text(name).strip()
        if raw:
            values[name] = _value(spec, raw)
    return values
