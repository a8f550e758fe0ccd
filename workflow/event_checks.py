"""What the engine checks on every event before a program's guards: its payload and its deadlines.

Both are generic, read from the definition's data:

- **Payload** (:func:`validate_payload`): an event takes ``reason``, ``data`` (where it accepts
  data) and the :class:`~workflow.definition.PayloadField` s it declares, nothing else. An
  undeclared key is refused naming it (``payload.<key>``), so no caller-chosen key reaches the
  audit trail; every declared value is checked against its type and limits.
- **Deadlines** (:func:`deadline_refusal`): an event that meets a deadline (it is in the
  rule's ``met_by``) checks by the command's clock that the deadline has not passed. The
  sweep that expires deadlines is not the guard: it may be down, or between two ticks, and
  a paper file received late must be refused even so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from workflow.clock import SHANGHAI
from workflow.definition import ENGINE_PAYLOAD_KEYS, Event, PayloadField, ProcessDefinition, Refusal
from workflow.errors import InvalidInput
from workflow.plan import OpenDeadline
from workflow.statuses import DeadlineStatus
from workflow.tables import audit_events

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def deadline_refusal(
    definition: ProcessDefinition, event: Event, state: str, open_deadlines: Iterable[OpenDeadline], now: datetime
) -> Refusal | None:
    """The refusal for an event that would meet an open deadline of ``state`` that has already passed."""
    governing = {rule.key: rule for rule in definition.deadlines if event.name in rule.met_by}
    if not governing:
        return None
    for d in open_deadlines:
        rule = governing.get(d.key)
        if rule is None or d.state != state or d.status != DeadlineStatus.PENDING or d.due_at is None:
            continue
        if d.due_at <= now:
            local = d.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            return Refusal(
                d.rule,
                f"{d.label} passed at {local} (Asia/Shanghai): {event.name!r} is too late "
                "(staff may extend the deadline, with a reason, before it is expired)",
                f"deadlines.{d.key}",
                code="deadline_passed",
                params={"deadline": d.label, "due_at": d.due_at.isoformat(), "event": event.name},
            )
    return None


def entered_state_at(conn: sa.Connection, case_id: int, state: str) -> datetime | None:
    """When the case last entered ``state`` (the audit event that moved it there)."""
    return conn.execute(
        sa.select(audit_events.c.at)
        .where(
            audit_events.c.case_id == case_id,
            audit_events.c.to_state == state,
            sa.or_(audit_events.c.from_state.is_(None), audit_events.c.from_state != state),
        )
        .order_by(audit_events.c.seq.desc())
        .limit(1)
    ).scalar()


def validate_payload(
    event: Event,
    payload: dict[str, Any],
    *,
    now: datetime,
    entered_at: datetime | None,
    case_id: int | None,
) -> dict[str, datetime]:
    """Check ``payload`` against the event's declaration, normalising it in place.

    Returns the parsed ``instant`` fields (a deadline may start from one). Raises
    :class:`InvalidInput` naming ``payload.<field>``.
    """
    declared = {f.name: f for f in event.payload}
    for key in payload:
        if key not in declared and key not in ENGINE_PAYLOAD_KEYS:
            takes = ", ".join(sorted({*declared, "reason"})) or "reason"
            raise InvalidInput(
                f"event {event.name!r} does not take {key!r} (it takes: {takes})",
                case_id=case_id,
                event=event.name,
                field=f"payload.{key}",
            )
    instants: dict[str, datetime] = {}
    for spec in event.payload:
        value = payload.get(spec.name)
        if value is None:
            if spec.required:
                raise InvalidInput(
                    f"event {event.name!r} requires {spec.name!r}",
                    case_id=case_id,
                    event=event.name,
                    field=f"payload.{spec.name}",
                )
            payload.pop(spec.name, None)
            continue
        normalised, instant = _check(spec, value, now=now, entered_at=entered_at)
        payload[spec.name] = normalised
        if instant is not None:
            instants[spec.name] = instant
    return instants


def _check(
    spec: PayloadField, value: Any, *, now: datetime, entered_at: datetime | None
) -> tuple[Any, datetime | None]:
    """The value normalised (and parsed, for an instant), or :class:`InvalidInput` naming the field."""
    field = f"payload.{spec.name}"
    if spec.kind == "instant":
        instant = _instant(spec, value, field, now=now, entered_at=entered_at)
        return instant.isoformat(), instant
    return _CHECKS[spec.kind](spec, value, field), None


def _text(spec: PayloadField, value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be non-empty text", field=field)
    if len(value) > spec.max_length:
        raise InvalidInput(f"must be at most {spec.max_length} characters, got {len(value)}", field=field)
    return value.strip()


def _integer(spec: PayloadField, value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"must be a whole number, got {_shown(value)}", field=field)
    low, high = spec.minimum or 0, spec.maximum or 0  # workflow.validation insists on both
    if not low <= value <= high:
        raise InvalidInput(f"must be {low}..{high}, got {_shown(value)}", field=field)
    number: int = value
    return number


def _date(spec: PayloadField, value: Any, field: str) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise InvalidInput(f"must be a date YYYY-MM-DD, got {_shown(value)}", field=field)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput(f"{value!r} is not a calendar date", field=field) from None


_CHECKS: dict[str, Callable[[PayloadField, Any, str], Any]] = {"text": _text, "integer": _integer, "date": _date}


def _instant(spec: PayloadField, value: Any, field: str, *, now: datetime, entered_at: datetime | None) -> datetime:
    if not isinstance(value, str) or not _INSTANT.match(value):
        raise InvalidInput(
            f"must be an ISO 8601 instant with an offset (e.g. 2025-09-26T10:00:00+08:00), got {_shown(value)}",
            field=field,
        )
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a valid instant", field=field) from None
    if spec.not_future and instant > now:
        raise InvalidInput(f"{value} is in the future (it is now {now.isoformat()})", field=field)
    if spec.not_before_entry and entered_at is not None and instant < entered_at:
        raise InvalidInput(
            f"{value} is before the case entered its current stage ({entered_at.isoformat()})", field=field
        )
    return instant


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
