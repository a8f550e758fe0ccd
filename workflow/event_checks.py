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
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from workflow.clock import SHANGHAI
from workflow.definition import ENGINE_PAYLOAD_KEYS, Event, PayloadField, ProcessDefinition, Refusal
from workflow.errors import InvalidInput
from workflow.tables import audit_events

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def deadline_refusal(
    definition: ProcessDefinition, event: Event, state: str, open_deadlines: Iterable[Mapping[str, Any]], now: datetime
) -> Refusal | None:
    """The refusal for an event that would meet an open deadline of ``state`` that has already passed."""
    governing = {rule.key: rule for rule in definition.deadlines if event.name in rule.met_by}
    if not governing:
        return None
    for row in open_deadlines:
        rule = governing.get(row["key"])
        if rule is None or row["state"] != state or row["status"] != "pending" or row["due_at"] is None:
            continue
        if row["due_at"] <= now:
            local = row["due_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            return Refusal(
                row["rule"],
                f"{row['label']} passed at {local} (Asia/Shanghai): {event.name!r} is too late "
                "(staff may extend the deadline, with a reason, before it is expired)",
                f"deadlines.{row['key']}",
                code="deadline_passed",
                params={"deadline": row["label"], "due_at": row["due_at"].isoformat(), "event": event.name},
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
    field = f"payload.{spec.name}"
    if spec.kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput("must be non-empty text", field=field)
        if len(value) > spec.max_length:
            raise InvalidInput(f"must be at most {spec.max_length} characters, got {len(value)}", field=field)
        return value.strip(), None
    if spec.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"must be a whole number, got {_shown(value)}", field=field)
        low, high = spec.minimum or 0, spec.maximum or 0  # workflow.validation insists on both
        if not low <= value <= high:
            raise InvalidInput(f"must be {low}..{high}, got {_shown(value)}", field=field)
        return value, None
    if spec.kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise InvalidInput(f"must be a date YYYY-MM-DD, got {_shown(value)}", field=field)
        try:
            return date.fromisoformat(value).isoformat(), None
        except ValueError:
            raise InvalidInput(f"{value!r} is not a calendar date", field=field) from None
    # instant
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
    return instant.isoformat(), instant


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
