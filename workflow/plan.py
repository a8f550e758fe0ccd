"""Decide, then store: the pure half of every write. A loaded case and a change become a :class:`Plan`.

Nothing here touches the database or the clock: :func:`plan_change` works from the case as the
command loaded it (:class:`LoadedCase`: the row and its open deadlines, typed) and returns every
row the change writes (the case update, its audit event with its hash, the deadlines it closes
and opens, its outbox notices and the webhook parameters). :class:`workflow.store.Store` then
executes the plan in the command's transaction. Why: the rules of a write can be read and tested
without SQL, and the SQL fast paths live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workflow.audit import canonical, chain_hash
from workflow.deadlines import DueTime, compute_due
from workflow.definition import DeadlineRule, NoticeRule, State
from workflow.process import CompiledProcess
from workflow.reminders import ladder, next_rung
from workflow.statuses import Channel, DeadlineStatus, NoticeStatus, Role
from workflow.workdays import WorkingDayCalendar
from workflow.writes import Change, json_native, live_key

STAFF_CONTACTS = {Channel.EMAIL.value: "staff"}  # resolved to the configured staff mailbox on delivery


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """A deadline row as loaded (pending or suspended, or just claimed by the sweep)."""

    id: int
    case_id: int
    key: str
    rule: str
    label: str
    state: str
    on_expiry: str
    working_days: int | None
    fixed_due: datetime | None
    started_at: datetime
    ledger: list[dict[str, Any]]
    due_at: datetime | None
    estimated: bool
    status: str
    closed_at: datetime | None
    next_rung: int
    next_reminder_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> OpenDeadline:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class LoadedCase:
    """A case row and its open deadlines, as one command's transaction read them."""

    row: Mapping[Any, Any]
    open_deadlines: tuple[OpenDeadline, ...]

    @property
    def id(self) -> int:
        case_id: int = self.row["id"]
        return case_id


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one change writes, decided; :meth:`workflow.store.Store.execute` writes it."""

    case_id: int
    seen_version: int
    event: str | None
    case_values: dict[str, Any]
    """The columns of the case update (``WHERE id = :case_id AND version = :seen_version``)."""
    audit: dict[str, Any]
    """The audit row, its JSON values as canonical text and its chain hash."""
    close: tuple[tuple[int, str], ...]
    """(deadline id, closing status) of each deadline the change closes."""
    open: tuple[dict[str, Any], ...]
    """The deadline rows to insert."""
    notices: list[dict[str, Any]]
    """The outbox rows, each ``context`` as canonical JSON text."""
    webhook: dict[str, Any]
    """The parameters of the webhook rows chosen by the database (see ``workflow.store``)."""
    closed_keys: tuple[str, ...]
    queued: tuple[str, ...]
    case_row: dict[str, Any]
    """The case row as it will be after the change."""
    staying_open: tuple[OpenDeadline, ...]


def plan_change(
    process: CompiledProcess,
    loaded: LoadedCase,
    change: Change,
    *,
    now: datetime,
    calendar: WorkingDayCalendar,
    audit_key: bytes,
    case_values: Mapping[Any, Any] | None = None,
) -> Plan:
    """Decide what writing ``change`` to the loaded case means, row by row (no I/O)."""
    case = loaded.row
    target = process.state(change.to_state)
    leaving = change.from_state != change.to_state
    closing = [d for d in loaded.open_deadlines if leaving and d.state == change.from_state]
    opened = [
        _deadline_row(process, rule, case["id"], target, change, now, calendar)
        for rule in _opening(process, target, leaving)
    ]
    new_version = case["version"] + 1
    outbox, queued, skipped = _change_notices(case, target, change, opened, leaving, new_version, now)
    _record_effects(change, process, closing, opened, queued, skipped)
    audit = _audit_row(case, change, new_version, now, audit_key)
    values = _case_values(process, case, target, new_version, audit["hash"], now, case_values)
    return Plan(
        case_id=case["id"],
        seen_version=case["version"],
        event=change.event,
        case_values=values,
        audit=audit,
        close=tuple((d.id, change.new_values["deadlines_closed"][d.key]) for d in closing),
        open=tuple(opened),
        notices=outbox,
        webhook=webhook_values(case, change, new_version, now),
        closed_keys=tuple(d.key for d in closing),
        queued=tuple(queued),
        case_row={**case, **values},
        staying_open=tuple(d for d in loaded.open_deadlines if d not in closing),
    )


def _opening(process: CompiledProcess, target: State, leaving: bool) -> list[DeadlineRule]:
    return [process.deadlines[key] for key in target.opens] if leaving else []


def _deadline_row(
    process: CompiledProcess,
    rule: DeadlineRule,
    case_id: int,
    target: State,
    change: Change,
    now: datetime,
    calendar: WorkingDayCalendar,
) -> dict[str, Any]:
    """The row of a deadline the change opens: its clock starts now, or at the instant the event gave."""
    started = change.instants.get(rule.starts_from, now) if rule.starts_from else now
    due = compute_due(
        working_days=rule.working_days, fixed_due=rule.due, started_at=started, ledger=(), calendar=calendar
    )
    return {
        "case_id": case_id,
        "key": rule.key,
        "rule": rule.rule,
        "label": rule.label,
        "state": target.key,
        "on_expiry": rule.on_expiry,
        "working_days": rule.working_days,
        "fixed_due": rule.due,
        "started_at": started,
        "ledger": [],
        "status": DeadlineStatus.PENDING.value,
        **schedule(rule, due, now=now, calendar=calendar),
    }


def _change_notices(
    case: Mapping[Any, Any],
    target: State,
    change: Change,
    opened: list[dict[str, Any]],
    leaving: bool,
    version: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The outbox rows of the notices the target state and the change itself send."""
    rules = list(target.notices) if leaving else []
    rules.extend(change.extra_notices)
    context = {
        "case_id": case["id"],
        "program": case["program_key"],
        "applicant_name": case["applicant_name"],
        "state": change.to_state,
        "event": change.event,
        "reason": change.reason,
        "deadlines": {r["key"]: _iso(r["due_at"]) for r in opened},
        **change.notice_context,
    }
    prefix = f"case/{case['id']}/v{version}"
    return notice_rows(case, rules, key_prefix=prefix, context=context, now=now, as_text=True)


def _record_effects(
    change: Change,
    process: CompiledProcess,
    closing: list[OpenDeadline],
    opened: list[dict[str, Any]],
    queued: list[str],
    skipped: list[str],
) -> None:
    """What the change did beyond its own values, as the audit event records it."""
    if closing:
        change.new_values["deadlines_closed"] = {
            d.key: close_status(change.event, d.on_expiry, process.deadlines[d.key].met_by)
            if d.key in process.deadlines
            else DeadlineStatus.CANCELLED.value
            for d in closing
        }
    if opened:
        change.new_values["deadlines_opened"] = {r["key"]: _iso(r["due_at"]) for r in opened}
    if queued:
        change.new_values["notices"] = queued
    if skipped:
        change.new_values["notices_skipped"] = skipped
    if change.actor.request_id:
        change.new_values["request_id"] = change.actor.request_id


def _audit_row(
    case: Mapping[Any, Any], change: Change, version: int, now: datetime, audit_key: bytes
) -> dict[str, Any]:
    """The audit event of the change, chained to the case's last one."""
    values: dict[str, Any] = {
        "case_id": case["id"],
        "seq": version,
        "at": now,
        "kind": change.kind,
        "actor": change.actor.name,
        "role": change.actor.role,
        "via": change.actor.via,
        "event": change.event,
        "from_state": change.from_state,
        "to_state": change.to_state,
        "reason": change.reason,
    }
    texts = {name: canonical(getattr(change, name)) for name in ("old_values", "new_values")}
    values.update({name: json.loads(text) for name, text in texts.items()})  # hashed as read back
    prev_hash = case["chain_head"]
    digest = chain_hash(audit_key, prev_hash, values)
    return {**values, **texts, "prev_hash": prev_hash, "hash": digest}


def _case_values(
    process: CompiledProcess,
    case: Mapping[Any, Any],
    target: State,
    version: int,
    digest: str,
    now: datetime,
    extra: Mapping[Any, Any] | None,
) -> dict[str, Any]:
    values = {
        "state": target.key,
        "final": target.final,
        "version": version,
        "chain_head": digest,
        "updated_at": now,
        **(extra or {}),
    }
    if target.final:
        values["live_key"] = None
    elif case.get("live_key") is None:  # an override or migration brought a finished case back to life
        key = live_key(process.definition, case["applicant_code"])
        if key is not None:
            values["live_key"] = key
    return values


def schedule(rule: DeadlineRule, due: DueTime, *, now: datetime, calendar: WorkingDayCalendar) -> dict[str, Any]:
    """The stored columns that follow from a deadline's due time: due, estimate flag, next reminder."""
    values: dict[str, Any] = {
        "due_at": due.due_at,
        "estimated": due.estimated,
        "next_rung": 0,
        "next_reminder_at": None,
    }
    if due.due_at is not None and due.last_day is not None and rule.reminders:
        rungs = ladder(rule, due_at=due.due_at, last_day=due.last_day, calendar=calendar)
        values["next_rung"], values["next_reminder_at"] = next_rung(rungs, sent_before=0, now=now)
    return values


def close_status(event: str | None, rule_on_expiry: str, met_by: Iterable[str]) -> str:
    if event is not None and event == rule_on_expiry:
        return DeadlineStatus.EXPIRED.value
    if event is not None and event in met_by:
        return DeadlineStatus.MET.value
    return DeadlineStatus.CANCELLED.value


def webhook_values(case: Mapping[Any, Any], change: Change, version: int, now: datetime) -> dict[str, Any]:
    """The parameters of the store's webhook rows: the change as every subscribed backend hears of it."""
    body = {  # JSON-native already: strings, numbers and the instant as canonical() writes it
        "type": "case.changed",
        "case_id": case["id"],
        "program": case["program_key"],
        "version": version,
        "change": change.kind,
        "event": change.event,
        "from_state": change.from_state,
        "to_state": change.to_state,
        "actor": {"name": change.actor.name, "role": change.actor.role, "via": change.actor.via},
        "reason": change.reason,
        "at": now.astimezone(UTC).isoformat(),
    }
    return {
        "w_case_id": case["id"],
        "w_kind": change.kind,
        "w_event": change.event,
        "w_key_prefix": f"case/{case['id']}/v{version}/webhook/",
        "w_context": canonical(body),
        "w_now": now,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def notice_rows(
    case: Mapping[Any, Any],
    rules: Iterable[NoticeRule],
    *,
    key_prefix: str,
    context: Mapping[Any, Any],
    now: datetime,
    as_text: bool = False,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Outbox rows for ``rules``, one per channel the audience can be reached on.

    Each row's ``context`` is the JSON-native copy of ``context``, or with ``as_text`` its
    canonical text, which :func:`workflow.store.insert_notices` binds as it is (a plan's rows:
    serialised once, not parsed back and serialised again).

    Returns the rows, the ``kind/channel`` labels queued, and the ones skipped with why
    (a case without a phone gets email only, and the audit says so). The idempotency key
    is ``{key_prefix}/{kind}/{channel}``: stable for the change or rung that caused it.
    """
    applicant = {Channel.EMAIL.value: case["applicant_email"], Channel.SMS.value: case["applicant_phone"]}
    rows: list[dict[str, Any]] = []
    queued: list[str] = []
    skipped: list[str] = []
    payload = canonical(dict(context)) if as_text else json_native(dict(context))
    for rule in rules:
        contacts = STAFF_CONTACTS if rule.audience == Role.STAFF else applicant
        for channel in rule.channels:
            recipient = contacts.get(channel)
            label = f"{rule.kind}/{channel}"
            if not recipient:
                skipped.append(f"{label}: no {'phone' if channel == 'sms' else channel} on the case")
                continue
            rows.append(
                _notice_row(
                    case["id"], rule.kind, channel, recipient, f"{key_prefix}/{rule.kind}/{channel}", payload, now
                )
            )
            queued.append(label)
    return rows, queued, skipped


def _notice_row(
    case_id: int, kind: str, channel: str, recipient: str, key: str, context: Any, now: datetime
) -> dict[str, Any]:
    """One outbox row (every column of ``workflow.writes.NOTICE_COLUMNS``), pending now."""
    return {
        "case_id": case_id,
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "idempotency_key": key,
        "context": context,
        "status": NoticeStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def deadline_record(values: Mapping[Any, Any], deadline_id: int) -> OpenDeadline:
    """An opened deadline's row as inserted, typed."""
    return OpenDeadline.from_row({**values, "id": deadline_id, "closed_at": None})


__all__ = ["LoadedCase", "OpenDeadline", "Plan", "close_status", "field", "notice_rows", "plan_change", "schedule"]
