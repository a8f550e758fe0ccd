"""The engine: commands over cases, one database transaction each.

``open_case``, ``fire``, ``override`` and ``expire_due`` change a case; ``get_case``,
``available_events`` and ``history`` read it. Every changing command loads the case,
checks role, state, required payload and the program's guards, then writes the change,
its audit event, its deadlines and its outbox notices in one transaction
(:mod:`workflow.writes`), or raises a :mod:`workflow.errors` error and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from workflow.applicants import Applicant, parse_applicant
from workflow.audit import GENESIS
from workflow.caps import NO_WAIT, CapAllocation
from workflow.database import fetch, read_only
from workflow.deadline_commands import DeadlineCommands
from workflow.definition import (
    STAFF_ROLES,
    SYSTEM,
    Actor,
    Amount,
    Event,
    GuardContext,
    NoticeRule,
    Refusal,
)
from workflow.engine_base import claim_with_case, require_reason
from workflow.errors import (
    ConflictError,
    FilingFlowError,
    GuardRefused,
    InvalidInput,
    NotPermitted,
    StorageUnavailable,
    TransitionNotAllowed,
    reject_nul,
)
from workflow.event_checks import deadline_refusal, entered_state_at, validate_payload
from workflow.idempotency import check_key, find_replay, fingerprint, remember
from workflow.listings import active_entries, list_by_event
from workflow.official_lists import ListEntry
from workflow.process import CompiledProcess
from workflow.tables import audit_events, cases, deadlines
from workflow.version_commands import VersionCommands
from workflow.views import AuditEntry, BatchOutcome, CaseInspection, CaseSnapshot, EventOption, OverrideOutcome
from workflow.writes import KNOWN_OPEN_DEADLINES, OPEN_DEADLINES_OF_CASE, Change, WriteResult, json_native, live_key

log = logging.getLogger("filingflow.engine")
DEADLINE_FAILED = NoticeRule("deadline_failed", ("email",), audience="staff")
"""Staff hear of a deadline the sweep could not expire (its case needs a person)."""


class Engine(DeadlineCommands, VersionCommands, CapAllocation):
    """Drives cases through their programs' processes; knows no program itself."""

    # ---- commands -------------------------------------------------------------------

    def open_case(
        self,
        program: str,
        *,
        applicant: Mapping[str, Any] | Applicant,
        data: Mapping[str, Any],
        actor: Actor,
        idempotency_key: str | None = None,
    ) -> CaseSnapshot:
        """Open a case in the program's initial state (its entry rules run)."""
        check_key(idempotency_key)
        if actor.role not in {"applicant", "platform", "staff", "admin"}:
            raise NotPermitted(f"role {actor.role!r} may not open cases", field="role")
        process = self.programs.get(program)
        if not isinstance(data, Mapping):
            raise InvalidInput("data must be an object", field="data")
        reject_nul(dict(data), "data")
        reject_nul(applicant.to_json() if isinstance(applicant, Applicant) else dict(applicant), "applicant")
        person = parse_applicant(applicant)
        prepared = process.definition.prepare_data(data)
        self._check_open_guards(process, person.code, prepared, actor)
        print_ = fingerprint("open", program=program, applicant=person.to_json(), data=prepared)
        now = self.clock.now()
        with self._transaction(live_rule=process.definition.unique_live_case_rule) as conn:
            replay = find_replay(conn, scope=actor.name, key=idempotency_key, print_=print_)
            if replay is not None:
                return CaseSnapshot.from_json(replay)
            live = self._check_unique_live(conn, process, person.code)
            self._check_refiling(conn, process, person.code)
            # a new draft claims last (workflow.caps): after every granted and live case of the applicant
            siblings = self._cap_rows(conn, process, person.code)
            claimed = sum(r["amount_fen"] or 0 for r in siblings if self._granted(r) or not r["final"])
            amount = process.definition.amount(prepared, claimed)
            initial = process.state(process.definition.initial)
            inserted = conn.execute(
                cases.insert().values(
                    program_key=process.key,
                    program_version=process.version,
                    state=initial.key,
                    final=initial.final,
                    version=0,
                    applicant_name=person.name,
                    applicant_code=person.code,
                    applicant_email=person.email,
                    applicant_phone=person.phone,
                    data=json_native(prepared),
                    amount_fen=amount.fen if amount else None,
                    live_key=live,
                    chain_head=GENESIS,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key
            assert inserted is not None
            case_id: int = inserted[0]
            row = self._load(conn, case_id)
            change = Change(
                kind="open",
                actor=actor,
                event=None,
                from_state=None,
                to_state=initial.key,
                new_values={
                    "program_key": process.key,
                    "program_version": process.version,
                    "applicant": person.to_json(),
                    "data": prepared,
                    "amount_fen": amount.fen if amount else None,
                },
            )
            written = self._write(conn, process, row, change, now)
            snapshot = self._snapshot_of(written.case_row, written.open_deadlines)
            remember(
                conn,
                scope=actor.name,
                key=idempotency_key,
                print_=print_,
                case_id=case_id,
                result=snapshot.to_json(),
                now=now,
            )
        return snapshot

    def fire(
        self,
        case_id: int,
        event: str,
        *,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CaseSnapshot:
        """Fire ``event`` on a case: role, state, payload and guards checked, then written."""
        check_key(idempotency_key)
        payload = dict(payload or {})
        reject_nul(payload, "payload")
        print_ = (  # only a keyed command is compared with its first sending
            fingerprint("fire", case_id=case_id, event=event, payload=payload, expected=expected_version)
            if idempotency_key is not None
            else ""
        )
        now = self.clock.now()
        with self._transaction(case_id=case_id, event=event) as conn:
            replay = find_replay(conn, scope=actor.name, key=idempotency_key, print_=print_)
            if replay is not None:
                return CaseSnapshot.from_json(replay)
            row = self._load(conn, case_id, with_deadlines=True)
            self._check_version(row, expected_version, event)
            written = self._fire_loaded(conn, row, event, actor=actor, payload=payload, now=now)
            snapshot = self._snapshot_of(written.case_row, written.open_deadlines)
            if idempotency_key is not None:  # to_json costs more than the case update
                remember(
                    conn,
                    scope=actor.name,
                    key=idempotency_key,
                    print_=print_,
                    case_id=case_id,
                    result=snapshot.to_json(),
                    now=now,
                )
        return snapshot

    def override(
        self,
        case_id: int,
        target: str,
        *,
        actor: Actor,
        reason: str,
        expected_version: int | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> OverrideOutcome:
        """Force a case into any state of its program: staff only, reason required, audited.

        A dry run performs the same checks and writes inside a transaction that is
        rolled back, so it reports exactly what a real override would do (and never
        records its idempotency key). Forcing a finished case back into a live state makes
        it live again, so the no-duplicate-filing rule still holds (LG-ELIG-2).
        """
        check_key(idempotency_key)
        if actor.role not in STAFF_ROLES:
            raise NotPermitted("only staff may override", case_id=case_id, field="role")
        reason = require_reason(reason, case_id=case_id)
        key = None if dry_run else idempotency_key
        print_ = fingerprint("override", case_id=case_id, target=target, reason=reason, expected=expected_version)
        now = self.clock.now()
        with self._transaction(case_id=case_id, rollback=dry_run) as conn:
            replay = find_replay(conn, scope=actor.name, key=key, print_=print_)
            if replay is not None:
                return OverrideOutcome.from_json(replay)
            row = self._load(conn, case_id)
            self._check_version(row, expected_version, None)
            process = self._process(row)
            state = process.state(target)
            if state.key == row["state"]:
                raise InvalidInput(f"case {case_id} is already in {target!r}", case_id=case_id, field="target")
            process.force(state.key)
            if not state.final and row["live_key"] is None:  # back to live: no second live case (LG-ELIG-2)
                self._check_unique_live(conn, process, row["applicant_code"])
            notice = process.definition.override_notice or NoticeRule("override")
            change = Change(
                kind="override",
                actor=actor,
                event=None,
                from_state=row["state"],
                to_state=state.key,
                reason=reason,
                old_values={"state": row["state"]},
                new_values={"state": state.key},
                extra_notices=(notice,),
                notice_context={"from_label": process.state(row["state"]).label, "to_label": state.label},
            )
            case_values: dict[str, Any] = {}
            if process.definition.cap_group is not None:
                subject = {**row, "state": state.key, "final": state.final}
                case_values["amount_fen"] = self._allocate(
                    subject, self._cap_rows(conn, process, row["applicant_code"])
                )
                if case_values["amount_fen"] != row["amount_fen"]:
                    change.old_values["amount_fen"] = row["amount_fen"]
                    change.new_values["amount_fen"] = case_values["amount_fen"]
            try:
                result = self._write(conn, process, row, change, now, case_values=case_values)
                if process.definition.cap_group is not None:
                    self._rebalance_cap(conn, process, result.case_row, cause=f"override of case {case_id}", now=now)
            except sa.exc.IntegrityError as exc:  # a twin case came to life at the same moment
                if "live_key" not in str(exc.orig) or process.definition.unique_live_case_rule is None:
                    raise
                raise GuardRefused(
                    "the applicant already has a live case in this round: no duplicate filing of the same matter",
                    case_id=case_id,
                    field="applicant.code",
                    rule=process.definition.unique_live_case_rule,
                ) from exc
            outcome = OverrideOutcome(
                case_id=case_id,
                from_state=row["state"],
                to_state=state.key,
                dry_run=dry_run,
                version=row["version"] if dry_run else result.version,
                deadlines_closed=result.deadlines_closed,
                deadlines_opened=result.deadlines_opened,
                notices=result.notices,
            )
            remember(conn, scope=actor.name, key=key, print_=print_, case_id=case_id, result=outcome.to_json(), now=now)
        return outcome

    def advance_batch(
        self, program: str, event: str, *, count: int, actor: Actor, payload: Mapping[str, Any] | None = None
    ) -> BatchOutcome:
        """Fire ``event`` on the next ``count`` cases that can take it, in submission order (SZ-FLOW-3).

        Each case is its own command (and transaction); the batch stops at the first case a rule
        refuses, so a later case never overtakes an earlier one.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 500:
            raise InvalidInput("count must be 1..500", field="count")
        process = self.programs.get(program)
        definition_event = process.event(event)
        with read_only(self.database) as conn:
            candidates = (
                conn.execute(
                    sa.select(cases.c.id)
                    .where(cases.c.program_key == process.key, cases.c.state.in_(definition_event.sources))
                    .order_by(cases.c.submitted_at.is_(None), cases.c.submitted_at, cases.c.id)
                    .limit(count)
                )
                .scalars()
                .all()
            )
        advanced: list[int] = []
        for case_id in candidates:
            try:
                self.fire(case_id, event, actor=actor, payload=payload)
            except FilingFlowError as exc:
                return BatchOutcome(tuple(advanced), stopped_at=case_id, reason=str(exc))
            advanced.append(case_id)
        return BatchOutcome(tuple(advanced))

    def expire_due(self, *, limit: int = 500) -> list[tuple[int, str]]:
        """Fire the expiry event of every pending deadline now due, oldest first, in batches of ``limit``.

        Each expiry is its own transaction; a deadline already handled (by another worker,
        or because the case moved on) is skipped, so running this twice is safe. A deadline
        whose expiry a rule refuses for good (say, a migration dropped its event) is marked
        ``failed``, audited and reported to staff instead of blocking every later one; a
        lost race is left for the next sweep. Returns ``(case_id, deadline_key)`` for each
        one expired.
        """
        now = self.clock.now()
        done: list[tuple[int, str]] = []
        while True:
            due = self._due_deadline_ids(deadlines.c.due_at, now, limit)
            progressed = 0
            for deadline_id in due:
                try:
                    outcome = self._expire_one(deadline_id, now)
                except (ConflictError, StorageUnavailable) as exc:  # a race or an outage: the next sweep retries
                    log.warning("deadline %s not expired this time: %s", deadline_id, exc)
                    continue
                except FilingFlowError as exc:
                    self._fail_deadline(deadline_id, exc, now)
                    progressed += 1
                    continue
                if outcome is not None:
                    done.append(outcome)
                    progressed += 1
            if len(due) < limit or not progressed:
                return done

    # ---- queries --------------------------------------------------------------------

    def inspect(self, case_id: int, *, actor: Actor) -> CaseInspection:
        """A case, the events this actor may fire now and its amount, from one read (API, console)."""
        with read_only(self.database) as conn:
            row = self._load(conn, case_id, with_deadlines=True)
            process = self._process(row)
            snapshot = self._snapshot_of(row, row[KNOWN_OPEN_DEADLINES])
            already = self._claimed_before(row, self._cap_rows(conn, process, row["applicant_code"]))
            listed = self._listed_for_options(conn, row, process)
        return CaseInspection(
            snapshot, self._options(row, process, actor, listed), process.definition.amount(row["data"], already)
        )

    def available_events(self, case_id: int, *, actor: Actor) -> list[EventOption]:
        """Every event leaving the current state, allowed or with the reason it is not."""
        with read_only(self.database) as conn:
            row = self._load(conn, case_id, with_deadlines=True)
            process = self._process(row)
            listed = self._listed_for_options(conn, row, process)
        return self._options(row, process, actor, listed)

    def _listed_for_options(
        self, conn: sa.Connection, row: sa.RowMapping, process: CompiledProcess
    ) -> tuple[ListEntry, ...]:
        """The official-list entries (LG-LIST-1), read only when an event leaving the state checks lists."""
        wanted = any(g.needs_lists for e in process.events_from(row["state"]) for g in e.guards)
        return active_entries(conn, row["applicant_code"], self.clock.now()) if wanted else ()

    def _options(
        self, row: sa.RowMapping, process: CompiledProcess, actor: Actor, listed: tuple[ListEntry, ...] = ()
    ) -> list[EventOption]:
        now = self.clock.now()
        context = self._guard_context(row, process, actor=actor, payload={}, data=row["data"], now=now, listings=listed)
        open_deadlines = row.get(KNOWN_OPEN_DEADLINES) or ()
        options = []
        for event in process.events_from(row["state"]):
            refusal = (
                _role_refusal(event, actor)
                or _first_refusal(event, context)
                or deadline_refusal(process.definition, event, row["state"], open_deadlines, now)
            )
            options.append(
                EventOption(
                    name=event.name,
                    label=event.label,
                    target=event.target,
                    allowed=refusal is None,
                    refusal=refusal,
                    requires=(*event.requires, *(f.name for f in event.payload if f.required)),
                )
            )
        return options

    def explain_amount(self, case_id: int) -> Amount | None:
        """The case's amount with the steps (rule IDs) that produce it, as the engine computes it."""
        with read_only(self.database) as conn:
            row = self._load(conn, case_id)
            process = self._process(row)
            already = self._claimed_before(row, self._cap_rows(conn, process, row["applicant_code"]))
        return process.definition.amount(row["data"], already)

    def history(self, case_id: int) -> list[AuditEntry]:
        with read_only(self.database) as conn:
            self._load(conn, case_id)
            rows = conn.execute(
                sa.select(audit_events).where(audit_events.c.case_id == case_id).order_by(audit_events.c.seq)
            ).mappings()
            return [AuditEntry(**{k: r[k] for k in AuditEntry.__dataclass_fields__}) for r in rows]

    # ---- internals ------------------------------------------------------------------

    def _fire_loaded(
        self,
        conn: sa.Connection,
        row: sa.RowMapping,
        name: str,
        *,
        actor: Actor,
        payload: dict[str, Any],
        now: datetime,
        extra: Mapping[str, Any] | None = None,
        extra_notices: tuple[NoticeRule, ...] = (),
    ) -> WriteResult:
        case_id = row["id"]
        process = self._process(row)
        event = process.event(name, case_id=case_id)
        refusal = _role_refusal(event, actor)
        if refusal is not None:
            raise NotPermitted(refusal.reason, case_id=case_id, event=name, field="role", **refusal.structure())
        if row["state"] not in event.sources:
            state = process.state(row["state"])
            raise TransitionNotAllowed(
                f"event {name!r} is not allowed in state {row['state']!r} ({state.label})",
                state=row["state"],
                case_id=case_id,
                event=name,
                field="event",
                code="state_not_allowed",
                params={"event": name, "state": row["state"]},
            )
        entered = entered_state_at(conn, case_id, row["state"]) if _needs_entry(event, payload) else None
        instants = validate_payload(event, payload, now=now, entered_at=entered, case_id=case_id)
        for key in event.requires:
            value = payload.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise InvalidInput(
                    f"event {name!r} requires {key!r}", case_id=case_id, event=name, field=f"payload.{key}"
                )
        if "reason" in payload:
            payload["reason"] = require_reason(payload["reason"], case_id=case_id)
        data = dict(row["data"])
        old_values: dict[str, Any] = {"state": row["state"]}
        new_values: dict[str, Any] = {}
        if "data" in payload:
            if not event.accepts_data:
                raise InvalidInput(
                    f"event {name!r} does not take data", case_id=case_id, event=name, field="payload.data"
                )
            patch = payload["data"]
            if not isinstance(patch, Mapping):
                raise InvalidInput("payload data must be an object", case_id=case_id, event=name, field="payload.data")
            data = process.definition.prepare_data({**data, **patch})
            for key in sorted(set(data) | set(row["data"])):
                if data.get(key) != row["data"].get(key):
                    old_values.setdefault("data", {})[key] = row["data"].get(key)
                    new_values.setdefault("data", {})[key] = data.get(key)
        # official lists (LG-LIST-1, SZ-LIST-1): read only for an event whose guards ask for them
        listed = active_entries(conn, row["applicant_code"], now) if any(g.needs_lists for g in event.guards) else ()
        context = self._guard_context(row, process, actor=actor, payload=payload, data=data, now=now, listings=listed)
        refusal = (
            _first_refusal(event, context)
            # the event meets a deadline: by the clock, now, not by whether a sweep has run (LG-DL-1)
            or deadline_refusal(process.definition, event, row["state"], self._open_deadlines(conn, row), now)
            or self._order_refusal(conn, process, row, event)
        )
        if refusal is not None:
            raise GuardRefused(
                refusal.reason,
                case_id=case_id,
                event=name,
                field=refusal.field,
                rule=refusal.rule,
                **refusal.structure(),
            )
        target = process.move(row["state"], name)
        new_values["state"] = target
        case_values: dict[str, Any] = {}
        if "data" in new_values:
            case_values["data"] = json_native(data)
        if event.marks_submission and row["submitted_at"] is None:
            case_values["submitted_at"] = now
            new_values["submitted_at"] = now.isoformat()
        group: list[Mapping[Any, Any]] | None = None
        if process.definition.cap_group is not None:
            # a shared cap (workflow.caps): the amount follows from the applicant's other cases too
            subject = {**row, "data": data, "submitted_at": case_values.get("submitted_at", row["submitted_at"])}
            group = [*self._cap_rows(conn, process, row["applicant_code"], besides=case_id), subject]
            case_values["amount_fen"] = self._allocate(subject, group)
        elif "data" in new_values:
            amount = process.definition.amount(data, 0)
            case_values["amount_fen"] = amount.fen if amount else None
        if case_values.get("amount_fen", row["amount_fen"]) != row["amount_fen"]:
            old_values["amount_fen"] = row["amount_fen"]
            new_values["amount_fen"] = case_values["amount_fen"]
        details = {k: v for k, v in payload.items() if k not in {"data", "reason"}}
        if details:
            new_values["payload"] = details
        if extra:
            new_values.update(extra)
        change = Change(
            kind="transition" if actor.role != "system" else "system",
            actor=actor,
            event=name,
            from_state=row["state"],
            to_state=target,
            reason=payload.get("reason"),
            old_values=old_values,
            new_values=new_values,
            notice_context={"payload": details, "amount_fen": case_values.get("amount_fen", row["amount_fen"])},
            extra_notices=extra_notices,
            instants=instants,
        )
        written = self._write(conn, process, row, change, now, case_values=case_values)
        if event.adds_listing is not None:  # a clawback for false materials lists the applicant (LG-CLAW-1)
            list_by_event(self, conn, event.adds_listing, case_row=row, payload=payload, actor=actor, now=now)
        if group is not None:  # the group as read above, with this case as written (no second read)
            cause = f"event {name!r} on case {case_id}"
            self._rebalance_cap(conn, process, written.case_row, cause=cause, now=now, rows=group)
        return written

    def _expire_one(self, deadline_id: int, now: datetime) -> tuple[int, str] | None:
        with self._transaction() as conn:
            conn.execution_options(**{NO_WAIT: True})  # holding its rows, the sweep never waits (workflow.caps)
            claimed = claim_with_case(conn, deadline_id, now)  # one round trip for claim, case and deadlines
            if claimed is None:
                return None
            deadline, row = claimed
            rule = self._process(row).deadlines.get(deadline["key"])
            alert = (rule.expiry_alert,) if rule is not None and rule.expiry_alert is not None else ()
            late_seconds = int((now - deadline["due_at"]).total_seconds())
            self._fire_loaded(
                conn,
                row,
                deadline["on_expiry"],
                actor=SYSTEM,
                payload={"reason": f"{deadline['label']} passed ({deadline['rule']})"},
                now=now,
                extra={
                    "deadline": deadline["key"],
                    "due_at": deadline["due_at"].isoformat(),
                    "processed_late_seconds": late_seconds,
                },
                extra_notices=alert,
            )
            return deadline["case_id"], deadline["key"]

    def _fail_deadline(self, deadline_id: int, error: FilingFlowError, now: datetime) -> None:
        """Settle a deadline whose expiry can never succeed: ``failed``, audited, staff alerted."""
        log.error("deadline %s cannot be expired, marked failed for staff: %s", deadline_id, error)
        try:
            with self._transaction() as conn:
                claimed = claim_with_case(conn, deadline_id, now)
                if claimed is None:
                    return
                deadline, row = claimed  # the row's open deadlines still list this one: it is not closed by the write
                conn.execute(
                    deadlines.update().where(deadlines.c.id == deadline_id).values(status="failed", closed_at=now)
                )
                change = Change(
                    kind="deadline",
                    actor=SYSTEM,
                    event="deadline.failed",
                    from_state=row["state"],
                    to_state=row["state"],
                    reason=f"{deadline['label']} passed but {deadline['on_expiry']!r} was refused: {error}",
                    old_values={"deadline": deadline["key"], "status": "pending"},
                    new_values={"deadline": deadline["key"], "status": "failed", "error": str(error)},
                    extra_notices=(DEADLINE_FAILED,),
                    notice_context={"deadline": deadline["key"], "label": deadline["label"], "error": str(error)},
                )
                self._write(conn, self._process(row), row, change, now)
        except (ConflictError, StorageUnavailable):
            log.warning("deadline %s: marking it failed did not commit; the next sweep retries", deadline_id)

    def _open_deadlines(self, conn: sa.Connection, row: sa.RowMapping) -> list[Any]:
        """The case's open deadlines: carried on the row when it was loaded with them, else read."""
        known = row.get(KNOWN_OPEN_DEADLINES)
        if known is None:
            known = fetch(conn, OPEN_DEADLINES_OF_CASE, {"case_id": row["id"]})
        return list(known)

    def _order_refusal(
        self, conn: sa.Connection, process: CompiledProcess, row: sa.RowMapping, event: Event
    ) -> Refusal | None:
        """Refuse taking a case out of submission order (SZ-FLOW-3): an override with a reason may."""
        if event.in_submission_order is None or row["submitted_at"] is None:
            return None
        earlier = conn.execute(
            sa.select(cases.c.id)
            .where(
                cases.c.program_key == row["program_key"],
                cases.c.state == row["state"],
                sa.or_(
                    cases.c.submitted_at < row["submitted_at"],
                    sa.and_(cases.c.submitted_at == row["submitted_at"], cases.c.id < row["id"]),
                ),
            )
            .order_by(cases.c.submitted_at, cases.c.id)
            .limit(1)
        ).scalar()
        if earlier is None:
            return None
        return Refusal(
            event.in_submission_order,
            f"case {earlier} was submitted earlier and waits in the same stage: process in submission order "
            "(or override with a reason)",
            "case_id",
            code="submission_order",
            params={"earlier_case": earlier},
        )

    def _check_open_guards(self, process: CompiledProcess, code: str, data: Mapping[str, Any], actor: Actor) -> None:
        """The definition's rules for opening a case at all (e.g. a round whose window has closed)."""
        context = GuardContext(
            case_id=None,
            applicant_code=code,
            state=process.definition.initial,
            data=data,
            payload={},
            actor=actor,
            now=self.clock.now(),
            calendar=self.calendar,
            submitted_at=None,
            reference=process.definition.reference,
        )
        for guard in process.definition.open_guards:
            refusal = guard.evaluate(context)
            if refusal is not None:
                raise GuardRefused(refusal.reason, field=refusal.field, rule=refusal.rule, **refusal.structure())

    def _check_refiling(self, conn: sa.Connection, process: CompiledProcess, code: str) -> None:
        """Refuse a new case when an earlier one of the applicant in this round ended in a blocking state."""
        blocking = process.definition.refiling_blocked_by
        rule = process.definition.unique_live_case_rule
        if not blocking or rule is None:
            return
        earlier = conn.execute(
            sa.select(cases.c.id, cases.c.state)
            .where(cases.c.program_key == process.key, cases.c.applicant_code == code, cases.c.state.in_(blocking))
            .order_by(cases.c.id)
            .limit(1)
        ).first()
        if earlier is not None:
            label = {s.key: s.label for s in process.definition.states}.get(earlier.state, earlier.state)
            raise GuardRefused(
                f"applicant {code} already filed this matter in {process.key} (case {earlier.id}, {label}): "
                "the same matter may not be filed twice; staff may reopen that case by override with a reason",
                field="applicant.code",
                rule=rule,
                code="already_filed",
                params={"applicant": code, "case": earlier.id, "state": earlier.state},
            )

    def _check_unique_live(self, conn: sa.Connection, process: CompiledProcess, code: str) -> str | None:
        rule = process.definition.unique_live_case_rule
        key = live_key(process.definition, code)
        if rule is None or key is None:
            return None
        existing = conn.execute(sa.select(cases.c.id).where(cases.c.live_key == key)).scalar()
        if existing is not None:
            raise GuardRefused(
                f"applicant {code} already has live case {existing} in {process.key}: "
                "no duplicate filing of the same matter",
                field="applicant.code",
                rule=rule,
                code="live_case_exists",
                params={"applicant": code, "case": existing},
            )
        return key

    def _guard_context(
        self,
        row: sa.RowMapping,
        process: CompiledProcess,
        *,
        actor: Actor,
        payload: Mapping[str, Any],
        data: Mapping[str, Any],
        now: datetime,
        listings: tuple[ListEntry, ...] = (),
    ) -> GuardContext:
        return GuardContext(
            case_id=row["id"],
            applicant_code=row["applicant_code"],
            state=row["state"],
            data=data,
            payload=payload,
            actor=actor,
            now=now,
            calendar=self.calendar,
            submitted_at=row["submitted_at"],
            reference=process.definition.reference,
            listings=listings,
            amount_fen=row["amount_fen"],
        )


def _needs_entry(event: Event, payload: Mapping[str, Any]) -> bool:
    """Whether the payload gives a field that may not predate the case's entry into its state.

    Only then is the entry time read (a query of the audit trail): a field left out is not checked.
    """
    return any(f.not_before_entry and payload.get(f.name) is not None for f in event.payload)


def _role_refusal(event: Event, actor: Actor) -> Refusal | None:
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


def _first_refusal(event: Event, context: GuardContext) -> Refusal | None:
    for guard in event.guards:
        refusal = guard.evaluate(context)
        if refusal is not None:
            return refusal
    return None
