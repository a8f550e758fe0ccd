"""Deciding an event, without I/O: may it be fired now, and what does it change?

The command loads what the decision needs (the case and its open deadlines, when the case
entered its state, the case ahead of it in submission order) and calls :func:`decide_event`,
which returns a :class:`Decision`: refused (a :class:`~workflow.errors.FilingFlowError` naming
the field and rule ID) or allowed with the :class:`~workflow.writes.Change` to write and the
case columns it sets. Bad input (a malformed payload) is raised at once. The cap group's
allocation is a second pure step (:mod:`workflow.caps`) once the group is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflow.context import require_reason
from workflow.definition import Actor, Event, Figures, GuardContext, NoticeRule, ProcessDefinition, Refusal
from workflow.errors import FilingFlowError, GuardRefused, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.event_checks import deadline_refusal, validate_payload
from workflow.official_lists import ListEntry
from workflow.plan import LoadedCase
from workflow.process import CompiledProcess
from workflow.statuses import Role
from workflow.workdays import WorkingDayCalendar
from workflow.writes import Change, json_native


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What an event's decision reads beyond the case: loaded by the command, only when needed."""

    entered_at: datetime | None = None
    """When the case entered its state (a payload field may not predate it)."""
    earlier_case: int | None = None
    """A case submitted earlier that waits in the same stage (SZ-FLOW-3), if the event keeps that order."""
    listings: tuple[ListEntry, ...] = ()
    """The applicant's official-list entries valid now, if a guard of the event reads them (LG-LIST-1)."""


@dataclass(slots=True)
class Decision:
    """Refused, or the change an allowed event makes (``case_values``: the columns it sets)."""

    refused: FilingFlowError | None = None
    change: Change | None = None
    case_values: dict[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    """The case's data after the event (the cap allocation reads it)."""


def guard_context(
    process: CompiledProcess,
    *,
    case_id: int | None,
    applicant_code: str,
    state: str,
    data: Mapping[str, Any],
    payload: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    calendar: WorkingDayCalendar,
    submitted_at: datetime | None,
    amount_fen: int | None = None,
    listings: tuple[ListEntry, ...] = (),
) -> GuardContext:
    """The one place a :class:`GuardContext` is built (opening a case, firing, listing options)."""
    return GuardContext(
        case_id=case_id,
        applicant_code=applicant_code,
        state=state,
        data=data,
        payload=payload,
        actor=actor,
        now=now,
        calendar=calendar,
        submitted_at=submitted_at,
        reference=process.definition.reference,
        amount_fen=amount_fen,
        listings=listings,
    )


def case_guard_context(
    process: CompiledProcess,
    row: Mapping[str, Any],
    *,
    actor: Actor,
    payload: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
    calendar: WorkingDayCalendar,
    listings: tuple[ListEntry, ...] = (),
) -> GuardContext:
    """The guard context of an event on a loaded case."""
    return guard_context(
        process,
        case_id=row["id"],
        applicant_code=row["applicant_code"],
        state=row["state"],
        data=data,
        payload=payload,
        actor=actor,
        now=now,
        calendar=calendar,
        submitted_at=row["submitted_at"],
        amount_fen=row["amount_fen"],  # what a later event (e.g. a voucher's redemption) may draw on
        listings=listings,
    )


def decide_event(
    process: CompiledProcess,
    loaded: LoadedCase,
    event: Event,
    facts: EventFacts,
    *,
    actor: Actor,
    payload: dict[str, Any],
    now: datetime,
    calendar: WorkingDayCalendar,
) -> Decision:
    """Role, state, payload, the program's guards, deadlines and order; then the change."""
    row = loaded.row
    refused = _role_or_state_refusal(process, row, event, actor)
    if refused is not None:
        return Decision(refused=refused)
    instants = validate_payload(event, payload, now=now, entered_at=facts.entered_at, case_id=row["id"])
    _check_required(event, payload, row["id"])
    if "reason" in payload:
        payload["reason"] = require_reason(payload["reason"], case_id=row["id"])
    data = _new_data(process.definition, event, row, payload)
    context = case_guard_context(
        process, row, actor=actor, payload=payload, data=data, now=now, calendar=calendar, listings=facts.listings
    )
    refusal = (
        first_refusal(event, context)
        # the event meets a deadline: by the clock, now, not by whether a sweep has run (LG-DL-1)
        or deadline_refusal(process.definition, event, row["state"], loaded.open_deadlines, now)
        or order_refusal(event, facts.earlier_case)
    )
    if refusal is not None:
        return Decision(refused=_guard_refused(refusal, row["id"], event.name))
    if event.updates_data is not None:  # the program keeps a running figure (e.g. a voucher's redeemed total)
        data = json_native(event.updates_data(context))
    return _allowed(process, row, event, actor=actor, payload=payload, data=data, now=now, instants=instants)


def _role_or_state_refusal(
    process: CompiledProcess, row: Mapping[str, Any], event: Event, actor: Actor
) -> FilingFlowError | None:
    case_id, name = row["id"], event.name
    refusal = role_refusal(event, actor)
    if refusal is not None:
        return NotPermitted(refusal.reason, case_id=case_id, event=name, field="role", **refusal.structure())
    if row["state"] in event.sources:
        return None
    state = process.state(row["state"])
    return TransitionNotAllowed(
        f"event {name!r} is not allowed in state {row['state']!r} ({state.label})",
        state=row["state"],
        case_id=case_id,
        event=name,
        field="event",
        code="state_not_allowed",
        params={"event": name, "state": row["state"]},
    )


def _check_required(event: Event, payload: Mapping[str, Any], case_id: int) -> None:
    for key in event.requires:
        value = payload.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidInput(
                f"event {event.name!r} requires {key!r}", case_id=case_id, event=event.name, field=f"payload.{key}"
            )


def _new_data(
    definition: ProcessDefinition, event: Event, row: Mapping[str, Any], payload: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The case's data with the event's patch applied (unchanged when it brings none)."""
    if "data" not in payload:
        return dict(row["data"])
    if not event.accepts_data:
        raise InvalidInput(
            f"event {event.name!r} does not take data", case_id=row["id"], event=event.name, field="payload.data"
        )
    patch = payload["data"]
    if not isinstance(patch, Mapping):
        raise InvalidInput("payload data must be an object", case_id=row["id"], event=event.name, field="payload.data")
    return definition.prepare_data({**row["data"], **patch})


def _allowed(
    process: CompiledProcess,
    row: Mapping[str, Any],
    event: Event,
    *,
    actor: Actor,
    payload: Mapping[str, Any],
    data: Mapping[str, Any],
    now: datetime,
    instants: Mapping[str, datetime],
) -> Decision:
    """The change of an allowed event: new state, data, submission time and amount (uncapped)."""
    old_values: dict[str, Any] = {"state": row["state"]}
    new_values: dict[str, Any] = {}
    case_values: dict[str, Any] = {}
    if "data" in payload or event.updates_data is not None:
        _diff_data(row["data"], data, old_values, new_values)
    new_values["state"] = process.move(row["state"], event.name)
    if "data" in new_values:
        case_values["data"] = json_native(data)
    if event.marks_submission and row["submitted_at"] is None:
        case_values["submitted_at"] = now
        new_values["submitted_at"] = now.isoformat()
    if process.definition.cap_group is None and "data" in new_values:
        amount = process.definition.amount(data, 0)
        case_values["amount_fen"] = amount.fen if amount else None
    details = {k: v for k, v in payload.items() if k not in {"data", "reason"}}
    if details:
        new_values["payload"] = details
    change = Change(
        kind="transition" if actor.role != Role.SYSTEM else "system",
        actor=actor,
        event=event.name,
        from_state=row["state"],
        to_state=new_values["state"],
        reason=payload.get("reason"),
        old_values=old_values,
        new_values=new_values,
        notice_context={"payload": details},
        instants=instants,
    )
    return Decision(change=change, case_values=case_values, data=data)


def _diff_data(
    before: Mapping[str, Any], after: Mapping[str, Any], old_values: dict[str, Any], new_values: dict[str, Any]
) -> None:
    for key in sorted(set(after) | set(before)):
        if after.get(key) != before.get(key):
            old_values.setdefault("data", {})[key] = before.get(key)
            new_values.setdefault("data", {})[key] = after.get(key)


def settle_amount(
    decision: Decision,
    row: Mapping[str, Any],
    amount_fen: int | None,
    *,
    capped: bool,
    figures: Figures | None = None,
) -> None:
    """Record the case's amount after the event (capped: the allocation's result) in the change,
    and the program's money figures after it and how each moved (``ProcessDefinition.figures``)."""
    assert decision.change is not None
    if capped:
        decision.case_values["amount_fen"] = amount_fen
    final = decision.case_values.get("amount_fen", row["amount_fen"])
    if final != row["amount_fen"]:
        decision.change.old_values["amount_fen"] = row["amount_fen"]
        decision.change.new_values["amount_fen"] = final
    decision.change.notice_context["amount_fen"] = final
    if figures is not None:
        before = figures(row["state"], row["data"], row["amount_fen"])
        after = figures(decision.change.to_state, decision.data, final)
        decision.change.notice_context["figures"] = after
        decision.change.notice_context["figures_change"] = {k: v - before.get(k, 0) for k, v in after.items()}


def with_extra(decision: Decision, extra: Mapping[str, Any] | None, notices: tuple[NoticeRule, ...]) -> Change:
    """The decided change with what the caller adds (the sweep: the deadline, its alert)."""
    assert decision.change is not None
    if extra:
        decision.change.new_values.update(extra)
    decision.change.extra_notices = notices
    return decision.change


def role_refusal(event: Event, actor: Actor) -> Refusal | None:
    if actor.role in event.roles:
        return None
    roles = ", ".join(sorted(event.roles))
    return Refusal(
        "ROLE",
        f"role {actor.role!r} may not fire {event.name!r} (allowed: {roles})",
        "role",
        code="role_not_allowed",
        params={"role": actor.role, "event": event.name, "allowed": sorted(event.roles)},
    )


def first_refusal(event: Event, context: GuardContext) -> Refusal | None:
    for guard in event.guards:
        refusal = guard.evaluate(context)
        if refusal is not None:
            return refusal
    return None


def order_refusal(event: Event, earlier: int | None) -> Refusal | None:
    """Refuse taking a case out of submission order (SZ-FLOW-3): an override with a reason may."""
    if event.in_submission_order is None or earlier is None:
        return None
    return Refusal(
        event.in_submission_order,
        f"case {earlier} was submitted earlier and waits in the same stage: process in submission order "
        "(or override with a reason)",
        "case_id",
        code="submission_order",
        params={"earlier_case": earlier},
    )


def needs_entry(event: Event, payload: Mapping[str, Any]) -> bool:
    """Whether the payload gives a field that may not predate the case's entry into its state.

    Only then is the entry time read (a query of the audit trail): a field left out is not checked.
    """
    return any(f.not_before_entry and payload.get(f.name) is not None for f in event.payload)


def _guard_refused(refusal: Refusal, case_id: int, event: str) -> GuardRefused:
    return GuardRefused(
        refusal.reason, case_id=case_id, event=event, field=refusal.field, rule=refusal.rule, **refusal.structure()
    )
