"""The engine: commands over cases, one database transaction each.

``open_case``, ``fire``, ``override`` and ``expire_due`` change a case; ``get_case``,
``available_events`` and ``history`` read it. Every changing command loads a snapshot of
the case (:class:`~workflow.plan.LoadedCase`), decides with pure functions
(:mod:`workflow.decide` whether and what; :func:`workflow.plan.plan_change` the rows) and
has the one store (:class:`~workflow.store.Store`) write the plan in one transaction, or
raises a :mod:`workflow.errors` error and writes nothing. The engine is composed of small
collaborators sharing one :class:`~workflow.context.EngineContext`: cap allocation
(:class:`~workflow.caps.Caps`), deadline and calendar commands, version migration and
notice re-sends; the methods here that only delegate keep the public API in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from workflow.applicants import Applicant, parse_applicant
from workflow.audit import GENESIS
from workflow.caps import Caps
from workflow.clock import Clock
from workflow.context import EngineContext, check_version, require_reason
from workflow.database import read_only
from workflow.deadline_commands import DeadlineCommands, DeadlineExplanation, Recomputed
from workflow.decide import (
    Decision,
    EventFacts,
    case_guard_context,
    decide_event,
    first_refusal,
    needs_entry,
    role_refusal,
    settle_amount,
    with_extra,
)
from workflow.definition import STAFF_ROLES, SYSTEM, Actor, Amount, Event, NoticeRule, State
from workflow.errors import (
    ConflictError,
    FilingFlowError,
    GuardRefused,
    InvalidInput,
    NotPermitted,
    StorageUnavailable,
    reject_nul,
)
from workflow.event_checks import deadline_refusal, entered_state_at
from workflow.idempotency import check_key, find_replay, fingerprint, remember
from workflow.listings import active_entries, list_by_event
from workflow.notice_commands import NoticeCommands
from workflow.official_lists import ListEntry
from workflow.open_checks import check_open_guards, check_refiling, check_unique_live
from workflow.plan import LoadedCase, OpenDeadline
from workflow.process import CompiledProcess, ProgramCatalog
from workflow.statuses import Channel, DeadlineStatus, Role
from workflow.store import NO_WAIT
from workflow.tables import audit_events, cases, deadlines
from workflow.version_commands import MigrationPlan, VersionMigration
from workflow.views import (
    AuditEntry,
    BatchOutcome,
    CaseInspection,
    CaseSnapshot,
    DeadlineView,
    EventOption,
    OverrideOutcome,
)
from workflow.workdays import WorkingDayCalendar, YearArrangement
from workflow.writes import Change, WriteResult, json_native

log = logging.getLogger("filingflow.engine")
DEADLINE_FAILED = NoticeRule("deadline_failed", (Channel.EMAIL.value,), audience=Role.STAFF.value)
"""Staff hear of a deadline the sweep could not expire (its case needs a person)."""
OPENING_ROLES = frozenset(Role) - {Role.SYSTEM}


class Engine:
    """Drives cases through their programs' processes; knows no program itself."""

    def __init__(
        self,
        *,
        database: sa.Engine,
        programs: ProgramCatalog,
        clock: Clock,
        calendar: WorkingDayCalendar,
        audit_key: bytes,
    ) -> None:
        self.context = EngineContext(database, programs, clock, calendar, audit_key)
        self.caps = Caps(self.context)
        self.deadline_commands = DeadlineCommands(self.context)
        self.versions = VersionMigration(self.context)
        self.notice_commands = NoticeCommands(self.context)

    def __repr__(self) -> str:
        return f"Engine({self.database.url.render_as_string(hide_password=True)!r}, clock={self.clock!r})"

    @property
    def database(self) -> sa.Engine:
        return self.context.database

    @property
    def programs(self) -> ProgramCatalog:
        return self.context.programs

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self.context.calendar

    @calendar.setter
    def calendar(self, calendar: WorkingDayCalendar) -> None:
        self.context.calendar = calendar

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
        if actor.role not in OPENING_ROLES:
            raise NotPermitted(f"role {actor.role!r} may not open cases", field="role")
        process = self.programs.get(program)
        if not isinstance(data, Mapping):
            raise InvalidInput("data must be an object", field="data")
        reject_nul(dict(data), "data")
        reject_nul(applicant.to_json() if isinstance(applicant, Applicant) else dict(applicant), "applicant")
        person = parse_applicant(applicant)
        prepared = process.definition.prepare_data(data)
        now = self.clock.now()
        check_open_guards(process, person.code, prepared, actor, now=now, calendar=self.calendar)
        print_ = fingerprint("open", program=program, applicant=person.to_json(), data=prepared)
        with self.context.store.transaction(live_rule=process.definition.unique_live_case_rule) as conn:
            replay = find_replay(conn, scope=actor.name, key=idempotency_key, print_=print_)
            if replay is not None:
                return CaseSnapshot.from_json(replay)
            live = check_unique_live(conn, process, person.code)
            check_refiling(conn, process, person.code)
            written = self._insert_case(conn, process, person, prepared, actor=actor, live=live, now=now)
            snapshot = self.context.snapshot_of(written.case_row, written.open_deadlines)
            remember(
                conn,
                scope=actor.name,
                key=idempotency_key,
                print_=print_,
                case_id=snapshot.id,
                result=snapshot.to_json(),
                now=now,
            )
        return snapshot

    def _insert_case(
        self,
        conn: sa.Connection,
        process: CompiledProcess,
        person: Applicant,
        prepared: Mapping[str, Any],
        *,
        actor: Actor,
        live: str | None,
        now: datetime,
    ) -> WriteResult:
        """Insert the new case and write its ``open`` change (audit, deadlines, notices)."""
        # a new draft claims last (workflow.caps): after every granted and live case of the applicant
        siblings = self.caps.rows(conn, process, person.code)
        claimed = sum(r["amount_fen"] or 0 for r in siblings if self.caps.granted(r) or not r["final"])
        amount = process.definition.amount(prepared, claimed)
        fen = amount.fen if amount else None
        initial = process.state(process.definition.initial)
        values = _new_case_row(process, initial, person, prepared, fen=fen, live=live, now=now)
        inserted = conn.execute(cases.insert().values(**values)).inserted_primary_key
        assert inserted is not None
        loaded = self.context.store.load(conn, inserted[0], with_deadlines=False)
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
                "amount_fen": fen,
            },
        )
        return self.context.write(conn, process, loaded, change, now)

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
        with self.context.store.transaction(case_id=case_id, event=event) as conn:
            replay = find_replay(conn, scope=actor.name, key=idempotency_key, print_=print_)
            if replay is not None:
                return CaseSnapshot.from_json(replay)
            loaded = self.context.store.load(conn, case_id)
            check_version(loaded.row, expected_version, event)
            written = self._fire_loaded(conn, loaded, event, actor=actor, payload=payload, now=now)
            snapshot = self.context.snapshot_of(written.case_row, written.open_deadlines)
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
        with self.context.store.transaction(case_id=case_id, rollback=dry_run) as conn:
            replay = find_replay(conn, scope=actor.name, key=key, print_=print_)
            if replay is not None:
                return OverrideOutcome.from_json(replay)
            loaded = self.context.store.load(conn, case_id)
            check_version(loaded.row, expected_version, None)
            process = self.context.process(loaded.row)
            state = process.state(target)
            if state.key == loaded.row["state"]:
                raise InvalidInput(f"case {case_id} is already in {target!r}", case_id=case_id, field="target")
            process.force(state.key)
            result = self._write_override(conn, process, loaded, state, actor=actor, reason=reason, now=now)
            outcome = OverrideOutcome(
                case_id=case_id,
                from_state=loaded.row["state"],
                to_state=state.key,
                dry_run=dry_run,
                version=loaded.row["version"] if dry_run else result.version,
                deadlines_closed=result.deadlines_closed,
                deadlines_opened=result.deadlines_opened,
                notices=result.notices,
            )
            remember(conn, scope=actor.name, key=key, print_=print_, case_id=case_id, result=outcome.to_json(), now=now)
        return outcome

    def _write_override(
        self,
        conn: sa.Connection,
        process: CompiledProcess,
        loaded: LoadedCase,
        state: State,
        *,
        actor: Actor,
        reason: str,
        now: datetime,
    ) -> WriteResult:
        """Write the override, re-allocating a shared cap; a case brought back to life stays unique."""
        row = loaded.row
        if not state.final and row["live_key"] is None:  # back to live: no second live case (LG-ELIG-2)
            check_unique_live(conn, process, row["applicant_code"])
        change = _override_change(process, row, state, actor=actor, reason=reason)
        case_values: dict[str, Any] = {}
        capped = process.definition.cap_group is not None
        if capped:
            subject = {**row, "state": state.key, "final": state.final}
            case_values["amount_fen"] = self.caps.allocate(
                subject, self.caps.rows(conn, process, row["applicant_code"])
            )
            if case_values["amount_fen"] != row["amount_fen"]:
                change.old_values["amount_fen"] = row["amount_fen"]
                change.new_values["amount_fen"] = case_values["amount_fen"]
        try:
            result = self.context.write(conn, process, loaded, change, now, case_values=case_values)
            if capped:
                self.caps.rebalance(conn, process, result.case_row, cause=f"override of case {row['id']}", now=now)
        except sa.exc.IntegrityError as exc:  # a twin case came to life at the same moment
            if "live_key" not in str(exc.orig) or process.definition.unique_live_case_rule is None:
                raise
            raise GuardRefused(
                "the applicant already has a live case in this round: no duplicate filing of the same matter",
                case_id=row["id"],
                field="applicant.code",
                rule=process.definition.unique_live_case_rule,
            ) from exc
        return result

    def advance_batch(
        self,
        program: str,
        event: str,
        *,
        count: int,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        case_ids: Sequence[int] | None = None,
    ) -> BatchOutcome:
        """Fire ``event`` on the next ``count`` cases that can take it, in submission order (SZ-FLOW-3).

        With ``case_ids`` (a reviewer's selection) the candidates are those cases of the program,
        whatever their state, still in submission order. Each case is its own command (and
        transaction); the batch stops at the first case a rule refuses, so a later case never
        overtakes an earlier one.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 500:
            raise InvalidInput("count must be 1..500", field="count")
        process = self.programs.get(program)
        definition_event = process.event(event)
        chosen = cases.c.state.in_(definition_event.sources) if case_ids is None else cases.c.id.in_(case_ids)
        with read_only(self.database) as conn:
            candidates = (
                conn.execute(
                    sa.select(cases.c.id)
                    .where(cases.c.program_key == process.key, chosen)
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
                return BatchOutcome(tuple(advanced), stopped_at=case_id, reason=str(exc), error=exc)
            advanced.append(case_id)
        return BatchOutcome(tuple(advanced))

    def resend_notice(
        self, case_id: int, *, notice_id: int, actor: Actor, reason: str | None = None, per_hour: int = 3
    ) -> dict[str, Any]:
        """Queue a copy of a notice (not a webhook's), audited; :class:`~workflow.errors.RateLimited`
        past ``per_hour`` re-sends of the case in the last hour. Returns the copy's outbox row."""
        return self.notice_commands.resend(case_id, notice_id=notice_id, actor=actor, reason=reason, per_hour=per_hour)

    # ---- the deadline sweep ------------------------------------------------------------

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

    def _due_deadline_ids(self, column: sa.ColumnElement[Any], now: datetime, limit: int) -> list[int]:
        return self.context.store.due_deadline_ids(column, now, limit)

    def _expire_one(self, deadline_id: int, now: datetime) -> tuple[int, str] | None:
        with self.context.store.transaction() as conn:
            conn.execution_options(**{NO_WAIT: True})  # holding its rows, the sweep never waits (store.NO_WAIT)
            claimed = self.context.store.claim_with_case(conn, deadline_id, now)  # one round trip for all
            if claimed is None:
                return None
            deadline, loaded = claimed
            rule = self.context.process(loaded.row).deadlines.get(deadline.key)
            alert = (rule.expiry_alert,) if rule is not None and rule.expiry_alert is not None else ()
            assert deadline.due_at is not None  # claimed because it is due
            self._fire_loaded(
                conn,
                loaded,
                deadline.on_expiry,
                actor=SYSTEM,
                payload={"reason": f"{deadline.label} passed ({deadline.rule})"},
                now=now,
                extra={
                    "deadline": deadline.key,
                    "due_at": deadline.due_at.isoformat(),
                    "processed_late_seconds": int((now - deadline.due_at).total_seconds()),
                },
                extra_notices=alert,
            )
            return deadline.case_id, deadline.key

    def _fail_deadline(self, deadline_id: int, error: FilingFlowError, now: datetime) -> None:
        """Settle a deadline whose expiry can never succeed: ``failed``, audited, staff alerted."""
        log.error("deadline %s cannot be expired, marked failed for staff: %s", deadline_id, error)
        try:
            with self.context.store.transaction() as conn:
                claimed = self.context.store.claim_with_case(conn, deadline_id, now)
                if claimed is None:
                    return
                deadline, loaded = claimed  # its open deadlines still list this one: the write does not close it
                conn.execute(
                    deadlines.update()
                    .where(deadlines.c.id == deadline_id)
                    .values(status=DeadlineStatus.FAILED.value, closed_at=now)
                )
                change = _failed_change(loaded.row, deadline, error)
                self.context.write(conn, self.context.process(loaded.row), loaded, change, now)
        except (ConflictError, StorageUnavailable):
            log.warning("deadline %s: marking it failed did not commit; the next sweep retries", deadline_id)

    def _fire_loaded(
        self,
        conn: sa.Connection,
        loaded: LoadedCase,
        name: str,
        *,
        actor: Actor,
        payload: dict[str, Any],
        now: datetime,
        extra: Mapping[str, Any] | None = None,
        extra_notices: tuple[NoticeRule, ...] = (),
    ) -> WriteResult:
        """Load what the event's decision reads, decide (pure), allocate a shared cap, write."""
        row = loaded.row
        process = self.context.process(row)
        event = process.event(name, case_id=row["id"])
        facts = self._event_facts(conn, row, event, payload, now)
        decision = decide_event(
            process, loaded, event, facts, actor=actor, payload=payload, now=now, calendar=self.calendar
        )
        if decision.refused is not None:
            raise decision.refused
        group = self._allocate(conn, process, row, decision, now)
        change = with_extra(decision, extra, extra_notices)
        written = self.context.write(conn, process, loaded, change, now, case_values=decision.case_values)
        if event.adds_listing is not None:  # a clawback for false materials lists the applicant (LG-CLAW-1)
            list_by_event(self.context, conn, event.adds_listing, case_row=row, payload=payload, actor=actor, now=now)
        if group is not None:  # the group as read above, with this case as written (no second read)
            cause = f"event {name!r} on case {row['id']}"
            self.caps.rebalance(conn, process, written.case_row, cause=cause, now=now, rows=group)
        return written

    def _event_facts(
        self, conn: sa.Connection, row: Mapping[str, Any], event: Event, payload: Mapping[str, Any], now: datetime
    ) -> EventFacts:
        """Read only what this event's decision needs: the state's entry time, an earlier case waiting,
        the applicant's official-list entries (LG-LIST-1, SZ-LIST-1; only for a guard that reads them)."""
        entered = entered_state_at(conn, row["id"], row["state"]) if needs_entry(event, payload) else None
        listed = _listed(conn, row, (event,), now)
        earlier = None
        if event.in_submission_order is not None and row["submitted_at"] is not None and row["state"] in event.sources:
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
        return EventFacts(entered_at=entered, earlier_case=earlier, listings=listed)

    def _allocate(
        self, conn: sa.Connection, process: CompiledProcess, row: Mapping[str, Any], decision: Decision, now: datetime
    ) -> list[Mapping[Any, Any]] | None:
        """Settle the case's amount; for a shared cap (workflow.caps), from the applicant's group too."""
        if process.definition.cap_group is None:
            settle_amount(decision, row, None, capped=False, figures=process.definition.figures)
            return None
        submitted = decision.case_values.get("submitted_at", row["submitted_at"])
        subject = {**row, "data": decision.data, "submitted_at": submitted}
        group: list[Mapping[Any, Any]] = [*self.caps.rows(conn, process, row["applicant_code"], besides=row["id"])]
        group.append(subject)
        settle_amount(
            decision, row, self.caps.allocate(subject, group), capped=True, figures=process.definition.figures
        )
        return group

    # ---- queries --------------------------------------------------------------------

    def get_case(self, case_id: int) -> CaseSnapshot:
        with read_only(self.database) as conn:
            loaded = self.context.store.load(conn, case_id)
        return self.context.snapshot_of(loaded.row, loaded.open_deadlines)

    def inspect(self, case_id: int, *, actor: Actor) -> CaseInspection:
        """A case, the events this actor may fire now and its amount, from one read (API, console)."""
        with read_only(self.database) as conn:
            loaded = self.context.store.load(conn, case_id)
            row = loaded.row
            process = self.context.process(row)
            snapshot = self.context.snapshot_of(row, loaded.open_deadlines)
            already = self.caps.claimed_before(row, self.caps.rows(conn, process, row["applicant_code"]))
            listed = _listed(conn, row, process.events_from(row["state"]), self.clock.now())
        return CaseInspection(
            snapshot, self._options(loaded, process, actor, listed), process.definition.amount(row["data"], already)
        )

    def available_events(self, case_id: int, *, actor: Actor) -> list[EventOption]:
        """Every event leaving the current state, allowed or with the reason it is not."""
        with read_only(self.database) as conn:
            loaded = self.context.store.load(conn, case_id)
            process = self.context.process(loaded.row)
            listed = _listed(conn, loaded.row, process.events_from(loaded.row["state"]), self.clock.now())
        return self._options(loaded, process, actor, listed)

    def _options(
        self, loaded: LoadedCase, process: CompiledProcess, actor: Actor, listed: tuple[ListEntry, ...] = ()
    ) -> list[EventOption]:
        now = self.clock.now()
        row = loaded.row
        context = case_guard_context(
            process, row, actor=actor, payload={}, data=row["data"], now=now, calendar=self.calendar, listings=listed
        )
        options = []
        for event in process.events_from(row["state"]):
            refusal = (
                role_refusal(event, actor)
                or first_refusal(event, context)
                or deadline_refusal(process.definition, event, row["state"], loaded.open_deadlines, now)
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
            row = self.context.store.load(conn, case_id, with_deadlines=False).row
            process = self.context.process(row)
            already = self.caps.claimed_before(row, self.caps.rows(conn, process, row["applicant_code"]))
        return process.definition.amount(row["data"], already)

    def history(self, case_id: int) -> list[AuditEntry]:
        with read_only(self.database) as conn:
            self.context.store.load(conn, case_id, with_deadlines=False)
            rows = conn.execute(
                sa.select(audit_events).where(audit_events.c.case_id == case_id).order_by(audit_events.c.seq)
            ).mappings()
            return [AuditEntry(**{k: r[k] for k in AuditEntry.__dataclass_fields__}) for r in rows]

    # ---- deadline, calendar and version commands (see their collaborators) ------------

    def extend_deadline(
        self,
        case_id: int,
        deadline_id: int,
        *,
        actor: Actor,
        reason: str,
        working_days: int | None = None,
        to_date: date | None = None,
        expected_version: int | None = None,
    ) -> DeadlineView:
        """Give more time: ``working_days`` more, or until the end of ``to_date`` (a working day)."""
        return self.deadline_commands.extend_deadline(
            case_id,
            deadline_id,
            actor=actor,
            reason=reason,
            working_days=working_days,
            to_date=to_date,
            expected_version=expected_version,
        )

    def suspend_deadline(
        self, case_id: int, deadline_id: int, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> DeadlineView:
        """Stop the clock (e.g. while the office waits on a third party); resumes with the days left."""
        return self.deadline_commands.suspend_deadline(
            case_id, deadline_id, actor=actor, reason=reason, expected_version=expected_version
        )

    def resume_deadline(
        self, case_id: int, deadline_id: int, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> DeadlineView:
        """Restart a suspended clock: the remaining working days continue from today."""
        return self.deadline_commands.resume_deadline(
            case_id, deadline_id, actor=actor, reason=reason, expected_version=expected_version
        )

    def explain_deadlines(self, case_id: int) -> list[DeadlineExplanation]:
        """Every deadline of a case with the days counted and skipped towards it."""
        return self.deadline_commands.explain_deadlines(case_id)

    def recompute_deadlines(
        self, *, actor: Actor = SYSTEM, reason: str, only_estimated: bool = False
    ) -> list[Recomputed]:
        """Re-derive every open deadline from the current calendar; audit and notify the moved ones."""
        return self.deadline_commands.recompute_deadlines(actor=actor, reason=reason, only_estimated=only_estimated)

    def reload_calendar(self) -> None:
        """Rebuild the calendar from the staff overrides and loaded arrangements in the database."""
        self.deadline_commands.reload_calendar()

    def refresh_calendar(self) -> list[Recomputed]:
        """Reload the calendar; when what decides working days changed, recompute the open deadlines."""
        return self.deadline_commands.refresh_calendar()

    def override_calendar_day(self, day: date, *, working: bool, actor: Actor, reason: str) -> list[Recomputed]:
        """Declare ``day`` a closure (typhoon) or a working day, then recompute what it moves."""
        return self.deadline_commands.override_calendar_day(day, working=working, actor=actor, reason=reason)

    def load_calendar_year(self, arrangement: YearArrangement, *, actor: Actor) -> list[Recomputed]:
        """Store a year's official arrangement, then recompute the deadlines estimated without it."""
        return self.deadline_commands.load_calendar_year(arrangement, actor=actor)

    def send_due_reminders(self, *, limit: int = 500) -> int:
        """Queue every reminder rung now due, once each, in batches of ``limit``; returns how many were sent."""
        return self.deadline_commands.send_due_reminders(limit=limit)

    def migrate_cases(
        self,
        program: str,
        *,
        from_version: int,
        to_version: int,
        mapping: Mapping[str, str],
        actor: Actor,
        reason: str,
        dry_run: bool = False,
    ) -> MigrationPlan:
        """Move every open case of ``program`` v``from_version`` to v``to_version``."""
        return self.versions.migrate_cases(
            program,
            from_version=from_version,
            to_version=to_version,
            mapping=mapping,
            actor=actor,
            reason=reason,
            dry_run=dry_run,
        )


def _failed_change(row: Mapping[str, Any], deadline: OpenDeadline, error: FilingFlowError) -> Change:
    """The audited change of a deadline the sweep could not expire; staff are alerted."""
    return Change(
        kind="deadline",
        actor=SYSTEM,
        event="deadline.failed",
        from_state=row["state"],
        to_state=row["state"],
        reason=f"{deadline.label} passed but {deadline.on_expiry!r} was refused: {error}",
        old_values={"deadline": deadline.key, "status": DeadlineStatus.PENDING.value},
        new_values={"deadline": deadline.key, "status": DeadlineStatus.FAILED.value, "error": str(error)},
        extra_notices=(DEADLINE_FAILED,),
        notice_context={"deadline": deadline.key, "label": deadline.label, "error": str(error)},
    )


def _new_case_row(
    process: CompiledProcess,
    initial: State,
    person: Applicant,
    prepared: Mapping[str, Any],
    *,
    fen: int | None,
    live: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The row of a new case at version 0, before its ``open`` change is written."""
    return {
        "program_key": process.key,
        "program_version": process.version,
        "state": initial.key,
        "final": initial.final,
        "version": 0,
        "applicant_name": person.name,
        "applicant_code": person.code,
        "applicant_email": person.email,
        "applicant_phone": person.phone,
        "data": json_native(prepared),
        "amount_fen": fen,
        "live_key": live,
        "chain_head": GENESIS,
        "created_at": now,
        "updated_at": now,
    }


def _override_change(
    process: CompiledProcess, row: Mapping[str, Any], state: State, *, actor: Actor, reason: str
) -> Change:
    """The audited change of an override; the applicant hears of it (the program's notice, or ``override``)."""
    notice = process.definition.override_notice or NoticeRule("override")
    return Change(
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


def _listed(
    conn: sa.Connection, row: Mapping[str, Any], events: Iterable[Event], now: datetime
) -> tuple[ListEntry, ...]:
    """The applicant's official-list entries valid now, read only when one of ``events`` has a guard
    that checks lists (LG-LIST-1, SZ-LIST-1): other commands pay nothing for them."""
    wanted = any(guard.needs_lists for event in events for guard in event.guards)
    return active_entries(conn, row["applicant_code"], now) if wanted else ()
