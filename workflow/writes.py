"""The write path of one command: case update, deadlines, outbox notices, audit event.

Everything here runs inside the caller's transaction and only issues SQL; no mail, no
SMS, no clock reads. The case row is updated first with ``WHERE version = :seen`` so a
concurrent change is detected before anything else is written (and rolled back with
the transaction if it is). The statements are built once and run on the driver
(:class:`~workflow.database.Prepared`): a command is five to eight of them, and
SQLAlchemy's per-execute machinery used to cost more than the database work.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from workflow.audit import HASHED_FIELDS, canonical, chain_hash
from workflow.database import Prepared, constant, fetch, pipeline, run, send
from workflow.deadlines import DueTime, compute_due
from workflow.definition import Actor, DeadlineRule, NoticeRule, ProcessDefinition
from workflow.errors import ConflictError
from workflow.process import CompiledProcess
from workflow.reminders import ladder, next_rung
from workflow.tables import audit_events, cases, deadlines, notices, webhook_subscriptions
from workflow.workdays import WorkingDayCalendar

CHANGE_KINDS = ("open", "transition", "system", "override", "deadline", "migration", "amount", "listing")
"""Every kind of change the audit trail records (webhook filters and the console name them too)."""
ENGINE_EVENTS = (
    "deadline.extend",
    "deadline.suspend",
    "deadline.resume",
    "deadline.recompute",
    "deadline.failed",
    "amount.rebalanced",
    "listing.flagged",  # the applicant was put on an official list (workflow.listings)
)
"""The events the engine records itself, beside the programs' own event names."""


@dataclass(slots=True)
class Change:
    """One change to a case, as the audit trail will record it."""

    kind: str
    actor: Actor
    event: str | None
    from_state: str | None
    to_state: str
    reason: str | None = None
    old_values: dict[str, Any] = field(default_factory=dict)
    new_values: dict[str, Any] = field(default_factory=dict)
    extra_notices: tuple[NoticeRule, ...] = ()
    notice_context: dict[str, Any] = field(default_factory=dict)
    instants: Mapping[str, datetime] = field(default_factory=dict)
    """The event's ``instant`` payload fields, parsed: a deadline rule's ``starts_from`` names one."""

    def __post_init__(self) -> None:  # a new kind or engine event must be named above, where filters find it
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change kind {self.kind!r}")
        if self.kind in {"deadline", "amount", "listing"} and self.event not in ENGINE_EVENTS:
            raise ValueError(f"unknown engine event {self.event!r}")


@dataclass(frozen=True, slots=True)
class WriteResult:
    version: int
    deadlines_closed: tuple[str, ...]
    deadlines_opened: tuple[str, ...]
    notices: tuple[str, ...]
    case_row: Mapping[str, Any] = field(default_factory=dict)
    """The case row as written, so the caller need not read it back."""
    open_deadlines: tuple[Mapping[str, Any], ...] = ()
    """The case's open deadlines after the change (a snapshot sorts them)."""


def json_native(value: Any) -> Any:
    """Round-trip through the canonical JSON so what we hash is what the database returns."""
    return json.loads(canonical(value))


OPEN_STATUSES = ("pending", "suspended")


class _JSONText(sa.types.TypeDecorator[str]):
    """A JSON column bound from its text, already serialised (canonically, see workflow.audit).

    The write path serialises each JSON value once anyway, to hash or to normalise it;
    binding that text saves serialising it again per row. Stored and read back as JSON.
    """

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def _bind(column: sa.Column[Any], name: str) -> sa.BindParameter[Any]:
    """A bind parameter for ``column``; JSON columns take their text (:class:`_JSONText`)."""
    return sa.bindparam(name, type_=_JSONText() if isinstance(column.type, sa.JSON) else column.type)


def _insert(table: sa.Table, names: Iterable[str], *, returning: sa.Column[Any] | None = None) -> Prepared:
    """``INSERT INTO table (names) VALUES (:names)``, without SQLAlchemy's implicit RETURNING."""
    statement = table.insert().inline().values({n: _bind(table.c[n], n) for n in names})
    return Prepared(statement if returning is None else statement.returning(returning))


# Statements of the write path, built and compiled once (constructing one costs several
# times what executing it does).
IS_OPEN = deadlines.c.status.in_([constant(status) for status in OPEN_STATUSES])
OPEN_DEADLINES_OF_CASE = Prepared(sa.select(deadlines).where(deadlines.c.case_id == sa.bindparam("case_id"), IS_OPEN))
KNOWN_OPEN_DEADLINES = "filingflow_open_deadlines"
"""A case row may carry its open deadlines under this key, read with it in the command's
transaction (see ``EngineBase._load``), so :func:`apply_change` need not read them again."""
_EVENT_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_DEADLINE_COLUMNS = (
    "case_id",
    "key",
    "rule",
    "label",
    "state",
    "on_expiry",
    "working_days",
    "fixed_due",
    "started_at",
    "ledger",
    "status",
    "due_at",
    "estimated",
    "next_rung",
    "next_reminder_at",
)
NOTICE_COLUMNS = (
    "case_id",
    "kind",
    "channel",
    "recipient",
    "idempotency_key",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_INSERT_AUDIT = _insert(audit_events, _EVENT_COLUMNS)
_INSERT_DEADLINE = _insert(deadlines, _DEADLINE_COLUMNS, returning=deadlines.c.id)
_NOTICES_PER_INSERT = 16


def insert_notices(
    connection: sa.Connection, rows: list[dict[str, Any]], *, webhooks: Mapping[str, Any] | None = None
) -> None:
    """Queue outbox rows (each with every column of :data:`NOTICE_COLUMNS`), and the webhook rows of a change.

    One INSERT for up to 16 rows, the webhook rows (:func:`_webhook_rows`, given
    :func:`_webhook_values`) chosen in the same statement.
    """
    texts: dict[int, str] = {}  # the rows of one change share one context: serialise it once
    for row in rows:
        texts.setdefault(id(row["context"]), canonical(row["context"]))
    starts = range(0, len(rows), _NOTICES_PER_INSERT) if rows else range(1 if webhooks is not None else 0)
    for start in starts:
        chunk = [{**row, "context": texts[id(row["context"])]} for row in rows[start : start + _NOTICES_PER_INSERT]]
        values = {f"{c}_{i}": row[c] for i, row in enumerate(chunk) for c in NOTICE_COLUMNS}
        if webhooks is not None and start + _NOTICES_PER_INSERT >= len(rows):  # the last statement takes them
            run(connection, _insert_outbox(len(chunk), True), {**values, **webhooks})
        else:
            run(connection, _insert_outbox(len(chunk), False), values)


@functools.lru_cache(maxsize=2 * _NOTICES_PER_INSERT + 2)
def _insert_outbox(count: int, webhooks: bool) -> Prepared:
    """``INSERT INTO notices SELECT <row 0> UNION ALL ... [UNION ALL <webhook rows>]``: one statement."""

    def build(dialect: Dialect) -> sa.Executable:
        parts: list[sa.Select[Any]] = [
            sa.select(*(_bind(notices.c[c], f"{c}_{i}") for c in NOTICE_COLUMNS)) for i in range(count)
        ]
        if webhooks:
            parts.append(_webhook_rows(dialect))
        rows = parts[0] if len(parts) == 1 else sa.union_all(*parts)
        statement: sa.Executable = notices.insert().inline().from_select(list(NOTICE_COLUMNS), rows)
        return statement

    return Prepared(build)


_CLOSE_DEADLINE = Prepared(
    deadlines.update()
    .where(deadlines.c.id == sa.bindparam("w_id"))
    .values(status=sa.bindparam("status"), closed_at=sa.bindparam("closed_at"))
)


def _webhook_rows(dialect: Dialect) -> sa.Select[Any]:
    """One outbox row per active webhook subscription that wants the change, chosen by the database.

    Why in SQL: the rows then need no query of their own and no cache that could go stale,
    and they can be sent with the case update in one round trip. Which changes a new
    subscription gets: this runs after the case update in the same transaction, so on
    SQLite, whose writers are serialised by ``BEGIN IMMEDIATE``, exactly every change
    committed after the subscription. On PostgreSQL its snapshot is taken after the update
    holds its lock on ``cases``, so a subscription created under :func:`hold_writers` gets
    exactly every change committed after it too; created without, only a command already
    past its case update when the subscription committed (a few milliseconds) can miss it.
    A subscription's ``events`` filter: empty (or missing) takes every change, else the
    change's kind or event must be listed.
    """
    subs = webhook_subscriptions
    elements = (
        sa.func.json_array_elements_text(subs.c.events)
        if dialect.name == "postgresql"
        else sa.func.json_each(subs.c.events)
    ).table_valued("value")
    listed = (
        sa.select(sa.literal_column("1"))
        .select_from(elements)
        .where(
            elements.c.value.in_([sa.bindparam("w_kind", type_=sa.String), sa.bindparam("w_event", type_=sa.String)])
        )
        .exists()
    )
    wanted = sa.or_(subs.c.events.is_(None), sa.func.json_array_length(subs.c.events) == 0, listed)
    subscriber = sa.cast(subs.c.id, sa.String)
    now = sa.bindparam("w_now", type_=notices.c.created_at.type)
    return sa.select(
        sa.bindparam("w_case_id", type_=sa.Integer),
        constant("case.changed"),
        constant("webhook"),
        subscriber,
        sa.bindparam("w_key_prefix", type_=sa.String) + subscriber,
        sa.bindparam("w_context", type_=_JSONText()),
        constant("pending"),
        sa.literal_column("0", type_=sa.Integer),
        now,
        now,
    ).where(subs.c.active, wanted)


@functools.lru_cache(maxsize=64)
def _case_update(columns: frozenset[str]) -> Prepared:
    """``UPDATE cases SET <columns> WHERE id = :w_id AND version = :w_version RETURNING id``, per column set."""
    return Prepared(
        cases.update()
        .where(cases.c.id == sa.bindparam("w_id"), cases.c.version == sa.bindparam("w_version"))
        .values({name: sa.bindparam(name, type_=cases.c[name].type) for name in sorted(columns)})
        .returning(cases.c.id)
    )


def live_key(definition: ProcessDefinition, applicant_code: str) -> str | None:
    """The value a live case holds in the unique ``live_key`` column (``None``: the program allows several)."""
    if definition.unique_live_case_rule is None:
        return None
    return f"{definition.key}:{applicant_code}"


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
        return "expired"
    if event is not None and event in met_by:
        return "met"
    return "cancelled"


def apply_change(
    connection: sa.Connection,
    *,
    process: CompiledProcess,
    case: Mapping[Any, Any],
    change: Change,
    now: datetime,
    calendar: WorkingDayCalendar,
    audit_key: bytes,
    case_values: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Write one change of ``case`` (a row mapping as loaded) and return what it did."""
    case_id: int = case["id"]
    new_version = case["version"] + 1
    target = process.state(change.to_state)
    leaving = change.from_state != change.to_state

    known = case.get(KNOWN_OPEN_DEADLINES)
    if known is None:
        known = fetch(connection, OPEN_DEADLINES_OF_CASE, {"case_id": case_id})
    open_rows: list[Mapping[str, Any]] = [dict(r) for r in known]
    closing = [r for r in open_rows if leaving and r["state"] == change.from_state]
    opening = [process.deadlines[key] for key in target.opens] if leaving else []
    opened_rows: list[dict[str, Any]] = []
    for rule in opening:
        started = change.instants.get(rule.starts_from, now) if rule.starts_from else now
        due = compute_due(
            working_days=rule.working_days, fixed_due=rule.due, started_at=started, ledger=(), calendar=calendar
        )
        opened_rows.append(
            {
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
                "status": "pending",
                **schedule(rule, due, now=now, calendar=calendar),
            }
        )

    rules = list(target.notices) if leaving else []
    rules.extend(change.extra_notices)
    context = {
        "case_id": case_id,
        "program": case["program_key"],
        "applicant_name": case["applicant_name"],
        "state": change.to_state,
        "event": change.event,
        "reason": change.reason,
        "deadlines": {r["key"]: _iso(r["due_at"]) for r in opened_rows},
        **change.notice_context,
    }
    outbox, queued, skipped = notice_rows(
        case, rules, key_prefix=f"case/{case_id}/v{new_version}", context=context, now=now
    )

    if closing:
        change.new_values["deadlines_closed"] = {
            r["key"]: close_status(change.event, r["on_expiry"], process.deadlines[r["key"]].met_by)
            if r["key"] in process.deadlines
            else "cancelled"
            for r in closing
        }
    if opened_rows:
        change.new_values["deadlines_opened"] = {r["key"]: _iso(r["due_at"]) for r in opened_rows}
    if queued:
        change.new_values["notices"] = queued
    if skipped:
        change.new_values["notices_skipped"] = skipped
    if change.actor.request_id:
        change.new_values["request_id"] = change.actor.request_id

    event_values = {
        "case_id": case_id,
        "seq": new_version,
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
    event_values.update({name: json.loads(text) for name, text in texts.items()})  # hashed as read back
    prev_hash = case["chain_head"]
    digest = chain_hash(audit_key, prev_hash, event_values)

    values = {
        "state": target.key,
        "final": target.final,
        "version": new_version,
        "chain_head": digest,
        "updated_at": now,
        **(case_values or {}),
    }
    if target.final:
        values["live_key"] = None
    elif case.get("live_key") is None:  # an override or migration brought a finished case back to life
        key = live_key(process.definition, case["applicant_code"])
        if key is not None:
            values["live_key"] = key
    # Every write in one round trip on PostgreSQL. The version check is read after it: if the
    # update found another version, the transaction is rolled back with all of it (and the
    # audit insert usually fails first, on the sequence number the other change took).
    with pipeline(connection):
        update = _case_update(frozenset(values))
        updated = send(connection, update, {**values, "w_id": case_id, "w_version": case["version"]})
        if connection.dialect.name == "sqlite":  # no pipeline: check before writing the rest
            _check_updated(connection, updated(), case, change)
        run(connection, _INSERT_AUDIT, {**event_values, **texts, "prev_hash": prev_hash, "hash": digest})
        for row in closing:
            status = change.new_values["deadlines_closed"][row["key"]]
            run(connection, _CLOSE_DEADLINE, {"w_id": row["id"], "status": status, "closed_at": now})
        insert_notices(connection, outbox, webhooks=_webhook_values(case, change, new_version, now))
        inserted = [send(connection, _INSERT_DEADLINE, {**r, "ledger": canonical(r["ledger"])}) for r in opened_rows]
    _check_updated(connection, updated(), case, change)
    opened = [{**r, "id": rows()[0]["id"], "closed_at": None} for r, rows in zip(opened_rows, inserted, strict=True)]
    still_open = [r for r in open_rows if r not in closing] + opened
    return WriteResult(
        version=new_version,
        deadlines_closed=tuple(r["key"] for r in closing),
        deadlines_opened=tuple(r["key"] for r in opened_rows),
        notices=tuple(queued),
        case_row={**{k: v for k, v in case.items() if k != KNOWN_OPEN_DEADLINES}, **values},
        open_deadlines=tuple(still_open),
    )


def insert_notices_once(connection: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose idempotency key is already queued; returns how many went in."""
    if not rows:
        return 0
    insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    statement = insert(notices).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(notices.c.id)
    # one by one, counting the rows returned: rowcount is not reliable across drivers here
    return sum(len(connection.execute(statement, row).all()) for row in rows)


def _check_updated(
    connection: sa.Connection, updated: list[sa.RowMapping], case: Mapping[Any, Any], change: Change
) -> None:
    """Raise :class:`ConflictError` unless the case update found the version the command read."""
    if len(updated) == 1:
        return
    actual = connection.execute(sa.select(cases.c.version).where(cases.c.id == case["id"])).scalar()
    raise ConflictError(
        f"case {case['id']} changed concurrently (was version {case['version']}, now {actual})",
        expected=case["version"],
        actual=actual,
        case_id=case["id"],
        event=change.event,
        field="version",
    )


def _webhook_values(case: Mapping[Any, Any], change: Change, version: int, now: datetime) -> dict[str, Any]:
    """The parameters of :func:`_webhook_rows`: the change as every subscribed backend hears of it."""
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


def hold_writers(connection: sa.Connection) -> None:
    """Call first in a transaction that creates or deactivates a webhook subscription.

    On PostgreSQL it takes ``SHARE`` on ``cases``: it waits for every command that has
    already updated its case to finish, and holds new case updates until this commits, so
    each change commits either before the subscription exists or after it with its webhook
    row (see :func:`_webhook_rows`). SQLite's ``BEGIN IMMEDIATE`` already does that.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE cases IN SHARE MODE")


STAFF_CONTACTS = {"email": "staff"}  # resolved to the configured staff mailbox on delivery


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def notice_rows(
    case: Mapping[Any, Any],
    rules: Iterable[NoticeRule],
    *,
    key_prefix: str,
    context: Mapping[str, Any],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Outbox rows for ``rules``, one per channel the audience can be reached on.

    Returns the rows, the ``kind/channel`` labels queued, and the ones skipped with why
    (a case without a phone gets email only, and the audit says so). The idempotency key
    is ``{key_prefix}/{kind}/{channel}``: stable for the change or rung that caused it.
    """
    applicant = {"email": case["applicant_email"], "sms": case["applicant_phone"]}
    rows: list[dict[str, Any]] = []
    queued: list[str] = []
    skipped: list[str] = []
    payload = json_native(dict(context))
    for rule in rules:
        contacts = STAFF_CONTACTS if rule.audience == "staff" else applicant
        for channel in rule.channels:
            recipient = contacts.get(channel)
            label = f"{rule.kind}/{channel}"
            if not recipient:
                skipped.append(f"{label}: no {'phone' if channel == 'sms' else channel} on the case")
                continue
            rows.append(
                {
                    "case_id": case["id"],
                    "kind": rule.kind,
                    "channel": channel,
                    "recipient": recipient,
                    "idempotency_key": f"{key_prefix}/{rule.kind}/{channel}",
                    "context": payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            queued.append(label)
    return rows, queued, skipped
