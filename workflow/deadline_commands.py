"""Deadline commands: extend, suspend, resume, explain, recompute, and the reminder ladder.

Every change is a staff command with a reason; it appends to the deadline's ledger,
re-derives the due time, and, in the same transaction, writes one audit event on the
case and queues a notice to the applicant. The calendar itself (staff overrides and
official arrangements loaded for new years) lives in the database; changing it
recomputes the open deadlines it affects, each recomputation audited like any change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.clock import SHANGHAI
from workflow.context import EngineContext, check_version, deadline_view, require_reason
from workflow.database import read_only
from workflow.deadlines import DueTime, ExplanationLine, compute_due, explain_lines, shanghai_date
from workflow.definition import STAFF_ROLES, SYSTEM, Actor, DeadlineRule, NoticeRule
from workflow.errors import DeadlineNotFound, FilingFlowError, InvalidInput, NotPermitted, StorageUnavailable
from workflow.plan import notice_rows, schedule
from workflow.reminders import ladder, next_rung
from workflow.statuses import OPEN_STATUSES, DeadlineStatus
from workflow.tables import calendar_overrides, calendar_years, cases, deadlines
from workflow.views import DeadlineView
from workflow.workdays import CalendarOverride, WorkingDayCalendar, YearArrangement
from workflow.writes import Change

MAX_EXTENSION_DAYS = 60
REMINDERS_PER_TRANSACTION = 25
"""Deadlines reminded in one transaction: fewer commits in a storm, while a command waiting for one
of their case rows (PostgreSQL) or for the write turn (SQLite) waits for 25 small reminders at most."""
log = logging.getLogger("filingflow.engine")


@dataclass(frozen=True, slots=True)
class DeadlineExplanation:
    """A deadline with its explanation: ``lines`` in English, ``items`` the same lines with their structure."""

    deadline: DeadlineView
    lines: tuple[str, ...]
    items: tuple[ExplanationLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Recomputed:
    case_id: int
    deadline: str
    old_due: datetime | None
    new_due: datetime | None
    estimated: bool


LedgerEntryMaker = Callable[[sa.RowMapping, DueTime, datetime], dict[str, Any]]


class DeadlineCommands:
    """The deadline half of the engine's commands, and the working-day calendar kept in the database."""

    def __init__(self, context: EngineContext) -> None:
        self.context = context
        self._calendar_signature: tuple[object, ...] | None = None

    @property
    def calendar(self) -> WorkingDayCalendar:
        return self.context.calendar

    # ---- staff changes --------------------------------------------------------------

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
        if (working_days is None) == (to_date is None):
            raise InvalidInput("give exactly one of working_days or to_date", case_id=case_id, field="working_days")
        if working_days is not None and (
            isinstance(working_days, bool)
            or not isinstance(working_days, int)
            or not 1 <= working_days <= MAX_EXTENSION_DAYS
        ):
            raise InvalidInput(f"working_days must be 1..{MAX_EXTENSION_DAYS}", case_id=case_id, field="working_days")

        def entry(row: sa.RowMapping, due: DueTime, now: datetime) -> dict[str, Any]:
            if to_date is None:
                return {"kind": "extend", "working_days": working_days}
            if due.last_day is None:
                raise InvalidInput("a suspended deadline can only be extended by working days", field="to_date")
            if to_date <= due.last_day:
                raise InvalidInput(f"{to_date} is not after the current last day {due.last_day}", field="to_date")
            if (to_date - due.last_day).days > 3 * MAX_EXTENSION_DAYS:  # before walking the calendar to it
                raise InvalidInput(f"{to_date} is more than {MAX_EXTENSION_DAYS} working days away", field="to_date")
            if not self.calendar.is_working_day(to_date):
                raise InvalidInput(f"{to_date} is not a working day", field="to_date")
            extra = self.calendar.working_days_between(due.last_day, to_date)
            if extra > MAX_EXTENSION_DAYS:
                raise InvalidInput(f"{to_date} is more than {MAX_EXTENSION_DAYS} working days away", field="to_date")
            return {"kind": "extend", "working_days": extra, "to_date": to_date.isoformat()}

        return self._change_deadline(
            case_id,
            deadline_id,
            actor=actor,
            reason=reason,
            verb="extend",
            expected_version=expected_version,
            make_entry=entry,
            notice="deadline_extended",
        )

    def suspend_deadline(
        self, case_id: int, deadline_id: int, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> DeadlineView:
        """Stop the clock (e.g. while the office waits on a third party); resumes with the days left."""

        def entry(row: sa.RowMapping, due: DueTime, now: datetime) -> dict[str, Any]:
            if row["status"] != DeadlineStatus.PENDING:
                raise InvalidInput(f"deadline is {row['status']}, only a running one can be suspended", field="status")
            if due.due_at is not None and due.due_at <= now:
                raise InvalidInput("deadline has already passed; it cannot be suspended", field="status")
            return {"kind": "suspend"}

        return self._change_deadline(
            case_id,
            deadline_id,
            actor=actor,
            reason=reason,
            verb="suspend",
            expected_version=expected_version,
            make_entry=entry,
            notice="deadline_suspended",
        )

    def resume_deadline(
        self, case_id: int, deadline_id: int, *, actor: Actor, reason: str, expected_version: int | None = None
    ) -> DeadlineView:
        """Restart a suspended clock: the remaining working days continue from today."""

        def entry(row: sa.RowMapping, due: DueTime, now: datetime) -> dict[str, Any]:
            if row["status"] != DeadlineStatus.SUSPENDED:
                raise InvalidInput(f"deadline is {row['status']}, not suspended", field="status")
            return {"kind": "resume"}

        return self._change_deadline(
            case_id,
            deadline_id,
            actor=actor,
            reason=reason,
            verb="resume",
            expected_version=expected_version,
            make_entry=entry,
            notice="deadline_resumed",
        )

    def _change_deadline(
        self,
        case_id: int,
        deadline_id: int,
        *,
        actor: Actor,
        reason: str,
        verb: str,
        expected_version: int | None,
        make_entry: LedgerEntryMaker,
        notice: str,
    ) -> DeadlineView:
        if actor.role not in STAFF_ROLES:
            raise NotPermitted(f"only staff may {verb} a deadline", case_id=case_id, field="role")
        reason = require_reason(reason, case_id=case_id)
        now = self.context.clock.now()
        with self.context.store.transaction(case_id=case_id, event=f"deadline.{verb}") as conn:
            loaded = self.context.store.load(conn, case_id)
            check_version(loaded.row, expected_version, f"deadline.{verb}")
            deadline = self._deadline_row(conn, case_id, deadline_id)
            if deadline["status"] not in OPEN_STATUSES:
                raise InvalidInput(
                    f"deadline {deadline_id} is {deadline['status']}; only open deadlines change",
                    case_id=case_id,
                    field="deadline_id",
                )
            current = self._due(deadline, deadline["ledger"])
            entry = {**make_entry(deadline, current, now), "at": now.isoformat(), "actor": actor.name, "reason": reason}
            process = self.context.process(loaded.row)
            self._store_due(conn, process.deadlines.get(deadline["key"]), deadline, [*deadline["ledger"], entry], now)
            fresh = self._deadline_row(conn, case_id, deadline_id)
            change = _deadline_change(loaded.row, deadline, fresh, actor, reason, verb, entry, notice)
            self.context.write(conn, process, loaded, change, now)
            return deadline_view(fresh)

    # ---- explanation and recomputation ----------------------------------------------

    def explain_deadlines(self, case_id: int) -> list[DeadlineExplanation]:
        """Every deadline of a case with the days counted and skipped towards it."""
        with read_only(self.context.database) as conn:
            rows = (
                conn.execute(sa.select(deadlines).where(deadlines.c.case_id == case_id).order_by(deadlines.c.id))
                .mappings()
                .all()
            )
            process = self.context.process(self.context.store.load(conn, case_id, with_deadlines=False).row)
        out = []
        for row in rows:
            rule = process.deadlines.get(row["key"])
            started = row["started_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
            origin = (
                f"; {rule.starts_from} when the event that opened it gave one, else that event's own time"
                if rule and rule.starts_from
                else ""
            )
            items = [
                ExplanationLine(
                    "clock_started",
                    f"clock started {started} (Asia/Shanghai{origin}); counting starts the next day",
                    {"started_at": row["started_at"].isoformat(), "starts_from": rule.starts_from if rule else None},
                )
            ]
            items.extend(explain_lines(self._due(row, row["ledger"])))
            for entry in row["ledger"]:
                items.append(
                    ExplanationLine(
                        "ledger",
                        f"{entry['kind']} by {entry['actor']} at {entry['at']}: {entry['reason']}",
                        {k: entry.get(k) for k in ("kind", "actor", "at", "reason", "working_days", "to_date")},
                    )
                )
            out.append(DeadlineExplanation(deadline_view(row), tuple(i.text for i in items), tuple(items)))
        return out

    def recompute_deadlines(
        self, *, actor: Actor = SYSTEM, reason: str, only_estimated: bool = False
    ) -> list[Recomputed]:
        """Re-derive every open deadline from the current calendar; audit and notify the moved ones."""
        query = sa.select(deadlines).where(deadlines.c.status.in_(OPEN_STATUSES))
        if only_estimated:
            query = query.where(deadlines.c.estimated.is_(True))
        with read_only(self.context.database) as conn:
            rows = conn.execute(query).mappings().all()
        # derive every due time in one read; only the deadlines that move take a write transaction
        moving = [r for r in rows if _key(self._due(r, r["ledger"])) != (r["due_at"], r["estimated"])]
        changed: list[Recomputed] = []
        for row in moving:
            outcome = self._recompute_one(row["case_id"], row["id"], actor=actor, reason=reason)
            if outcome is not None:
                changed.append(outcome)
        return changed

    def _recompute_one(self, case_id: int, deadline_id: int, *, actor: Actor, reason: str) -> Recomputed | None:
        now = self.context.clock.now()
        with self.context.store.transaction(case_id=case_id, event="deadline.recompute") as conn:
            deadline = self._deadline_row(conn, case_id, deadline_id)
            if deadline["status"] not in OPEN_STATUSES:
                return None
            due = self._due(deadline, deadline["ledger"])
            if _key(due) == (deadline["due_at"], deadline["estimated"]):
                return None
            loaded = self.context.store.load(conn, case_id)
            row = loaded.row
            process = self.context.process(row)
            self._store_due(conn, process.deadlines.get(deadline["key"]), deadline, deadline["ledger"], now)
            moved = due.due_at != deadline["due_at"]
            change = Change(
                kind="deadline",
                actor=actor,
                event="deadline.recompute",
                from_state=row["state"],
                to_state=row["state"],
                reason=reason,
                old_values={
                    "deadline": deadline["key"],
                    "due_at": _iso(deadline["due_at"]),
                    "estimated": deadline["estimated"],
                },
                new_values={"deadline": deadline["key"], "due_at": _iso(due.due_at), "estimated": due.estimated},
                extra_notices=(NoticeRule("deadline_moved"),) if moved else (),
                notice_context={
                    "deadline": deadline["key"],
                    "label": deadline["label"],
                    "due_at": _iso(due.due_at),
                    "old_due_at": _iso(deadline["due_at"]),
                },
            )
            self.context.write(conn, process, loaded, change, now)
            return Recomputed(case_id, deadline["key"], deadline["due_at"], due.due_at, due.estimated)

    # ---- the calendar kept in the database -------------------------------------------

    def reload_calendar(self) -> None:
        """Rebuild the calendar from the staff overrides and loaded arrangements in the database."""
        with read_only(self.context.database) as conn:
            overrides = {
                date.fromisoformat(r.day): CalendarOverride(date.fromisoformat(r.day), r.working, r.reason)
                for r in conn.execute(sa.select(calendar_overrides))
            }
            years = {r.year: YearArrangement.from_json(r.arrangement) for r in conn.execute(sa.select(calendar_years))}
        self.context.calendar = self.calendar.with_data(overrides, years)

    def refresh_calendar(self) -> list[Recomputed]:
        """Reload the calendar; when what decides working days changed, recompute the open deadlines.

        Catches what no single command sees: a newer ``chinesecalendar`` that now knows a
        year (after a restart), and closures or arrangements stored by another process while
        this one computed deadlines with the calendar it had. The first call always checks.
        """
        before = self._calendar_signature
        self.reload_calendar()
        around = self.context.clock.now().year
        self._calendar_signature = self.calendar.signature(around)
        if before == self._calendar_signature:
            return []
        # at start-up only estimated deadlines can be behind (a newer package); later, anything can
        return self.recompute_deadlines(
            reason="working-day calendar changed (data loaded, or a newer package)", only_estimated=before is None
        )

    def override_calendar_day(self, day: date, *, working: bool, actor: Actor, reason: str) -> list[Recomputed]:
        """Declare ``day`` a closure (typhoon) or a working day, then recompute what it moves."""
        if actor.role not in STAFF_ROLES:
            raise NotPermitted("only staff may change the calendar", field="role")
        reason = require_reason(reason, case_id=None)
        with self.context.database.begin() as conn:
            conn.execute(calendar_overrides.delete().where(calendar_overrides.c.day == day.isoformat()))
            conn.execute(
                calendar_overrides.insert().values(
                    day=day.isoformat(),
                    working=working,
                    reason=reason,
                    actor=actor.name,
                    created_at=self.context.clock.now(),
                )
            )
        self.reload_calendar()
        return self.recompute_deadlines(actor=actor, reason=f"calendar changed: {day} {reason}")

    def load_calendar_year(self, arrangement: YearArrangement, *, actor: Actor) -> list[Recomputed]:
        """Store a year's official arrangement, then recompute the deadlines estimated without it."""
        if actor.role not in STAFF_ROLES:
            raise NotPermitted("only staff may load the calendar", field="role")
        with self.context.database.begin() as conn:
            conn.execute(calendar_years.delete().where(calendar_years.c.year == arrangement.year))
            conn.execute(
                calendar_years.insert().values(
                    year=arrangement.year,
                    arrangement=arrangement.to_json(),
                    actor=actor.name,
                    loaded_at=self.context.clock.now(),
                )
            )
        self.reload_calendar()
        return self.recompute_deadlines(
            actor=actor, reason=f"official {arrangement.year} working-day arrangement loaded"
        )

    # ---- reminders --------------------------------------------------------------------

    def send_due_reminders(self, *, limit: int = 500, per_transaction: int = REMINDERS_PER_TRANSACTION) -> int:
        """Queue every reminder rung now due, once each, in batches of ``limit``; returns how many were sent.

        The rows of a batch are reminded ``per_transaction`` to a transaction (1: the cost before
        batching, which bench/reminders.py measures against). A deadline whose rungs were all
        stale still counts as handled, so a batch of stale rungs never hides the due ones behind it.
        """
        now = self.context.clock.now()
        sent = 0
        while True:
            due = self.context.store.due_deadline_ids(deadlines.c.next_reminder_at, now, limit)
            handled = 0
            for start in range(0, len(due), per_transaction):
                outcomes = self._remind_together(due[start : start + per_transaction], now)
                handled += sum(o is not None for o in outcomes)
                sent += sum(o for o in outcomes if o is not None)
            if len(due) < limit or not handled:
                return sent

    def _remind_together(self, deadline_ids: list[int], now: datetime) -> list[int | None]:
        """Remind ``deadline_ids`` in one transaction; if one of them fails, each again in its own.

        A window's reminder falls due for every draft at the same second: thousands of rows
        whose work is a few small statements each. One transaction apiece spent as much on
        the transaction (a write turn, ``BEGIN IMMEDIATE``, a commit) as on the reminder, and
        on SQLite, with one writer at a time, drained a storm at tens a second while the API
        waited for CPU. A row that fails (its program no longer loaded, say) rolls its batch
        back; the batch is then redone row by row, so that one row never holds back the rest.
        """
        try:
            with self.context.store.transaction() as conn:
                return [self._remind_in(conn, deadline_id, now) for deadline_id in deadline_ids]
        except StorageUnavailable as exc:  # the database, not a row: the next tick retries them all
            log.warning("reminders for %d deadlines not sent this time: %s", len(deadline_ids), exc)
            return [None] * len(deadline_ids)
        except FilingFlowError:
            if len(deadline_ids) == 1:
                log.error("reminders for deadline %s failed, will retry", deadline_ids[0], exc_info=True)
                return [None]
        return [outcome for one in deadline_ids for outcome in self._remind_together([one], now)]

    def _remind_in(self, conn: sa.Connection, deadline_id: int, now: datetime) -> int | None:
        """Send the rungs of one deadline that are due, in ``conn``'s transaction; ``None`` if another worker has it."""
        query = sa.select(deadlines).where(
            deadlines.c.id == deadline_id,
            deadlines.c.status == DeadlineStatus.PENDING.value,
            deadlines.c.next_reminder_at <= now,
        )
        if conn.dialect.name == "postgresql":
            # The case row is claimed with the deadline, both skipped when either is held, as the
            # expiry sweep does (workflow.store): a command holds its case row and then takes its
            # deadlines, while the notices inserted here take a key-share lock on the case (their
            # foreign key). Holding the deadline and waiting for the case deadlocked with a staff
            # extension or a command changing the case's live key; skipped, the row comes next tick.
            query = query.join_from(deadlines, cases, cases.c.id == deadlines.c.case_id).with_for_update(
                skip_locked=True, of=[cases, deadlines]
            )
        deadline = conn.execute(query).mappings().first()
        if deadline is None:
            return None
        case = self.context.store.load(conn, deadline["case_id"], with_deadlines=False).row
        rule = self.context.process(case).deadlines.get(deadline["key"])
        sent = 0
        position, upcoming = len(rule.reminders) if rule else 0, None
        if rule is not None and deadline["due_at"] is not None:
            sent, position, upcoming = self._send_rungs(conn, rule, deadline, case, now)
        moved = {"next_rung": position, "next_reminder_at": upcoming}
        conn.execute(deadlines.update().where(deadlines.c.id == deadline_id).values(**moved))
        return sent

    def _send_rungs(
        self, conn: sa.Connection, rule: DeadlineRule, deadline: sa.RowMapping, case: Mapping[Any, Any], now: datetime
    ) -> tuple[int, int, datetime | None]:
        """Queue the rungs now due (a stale one is skipped); how many went out, the next rung and its time."""
        last_day = shanghai_date(deadline["due_at"] - timedelta(microseconds=1))
        rungs = ladder(rule, due_at=deadline["due_at"], last_day=last_day, calendar=self.calendar)
        position, sent = deadline["next_rung"], 0
        while position < len(rungs) and rungs[position].moment <= now:
            rung = rungs[position]
            if now < rung.valid_until:  # else stale: a later rung or the due time has come
                context = {
                    "deadline": deadline["key"],
                    "label": deadline["label"],
                    "rung": rung.rung.key,
                    "due_at": deadline["due_at"].isoformat(),
                    "last_day": last_day.isoformat(),
                    "applicant_name": case["applicant_name"],
                    "case_id": case["id"],
                    "program": case["program_key"],
                    "state": case["state"],
                }
                # keyed by case and deadline key, not row: a state re-entered (a voucher part verified,
                # SZ-REDEEM-2) opens a new row with the same last day, and a rung goes out once per day
                prefix = f"deadline/{case['id']}.{deadline['key']}/{rung.rung.key}/{last_day.isoformat()}"
                rows, _, _ = notice_rows(case, (rung.rung.notice,), context=context, now=now, key_prefix=prefix)
                # a recomputation that kept the last day may offer a rung already sent: its key says so
                sent += self.context.store.insert_notices_once(conn, rows) > 0
            position += 1
        position, upcoming = next_rung(rungs, sent_before=position, now=now)
        return sent, position, upcoming

    # ---- internals ------------------------------------------------------------------------

    def _deadline_row(self, conn: sa.Connection, case_id: int, deadline_id: int) -> sa.RowMapping:
        query = sa.select(deadlines).where(deadlines.c.id == deadline_id, deadlines.c.case_id == case_id)
        if conn.dialect.name == "postgresql":
            # the case row first, then its deadline: the order every command and the sweep take them
            # in (cases before deadlines), so a staff change never deadlocks with them
            conn.execute(sa.select(cases.c.id).where(cases.c.id == case_id).with_for_update())
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise DeadlineNotFound(
                f"case {case_id} has no deadline {deadline_id}", case_id=case_id, field="deadline_id"
            )
        return row

    def _due(self, deadline: sa.RowMapping, ledger: list[dict[str, Any]]) -> DueTime:
        return compute_due(
            working_days=deadline["working_days"],
            fixed_due=deadline["fixed_due"],
            started_at=deadline["started_at"],
            ledger=ledger,
            calendar=self.calendar,
        )

    def _store_due(
        self,
        conn: sa.Connection,
        rule: DeadlineRule | None,
        deadline: sa.RowMapping,
        ledger: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        due = self._due(deadline, ledger)
        values: dict[str, Any] = {
            "due_at": due.due_at,
            "estimated": due.estimated,
            "ledger": ledger,
            "status": (DeadlineStatus.SUSPENDED if due.suspended else DeadlineStatus.PENDING).value,
        }
        if rule is not None:
            values.update(schedule(rule, due, now=now, calendar=self.calendar))
        conn.execute(deadlines.update().where(deadlines.c.id == deadline["id"]).values(**values))


def _deadline_change(
    case: Mapping[Any, Any],
    deadline: sa.RowMapping,
    fresh: sa.RowMapping,
    actor: Actor,
    reason: str,
    verb: str,
    entry: dict[str, Any],
    notice: str,
) -> Change:
    """The audited change of a staff deadline command: the ledger entry, old and new due time, a notice."""
    return Change(
        kind="deadline",
        actor=actor,
        event=f"deadline.{verb}",
        from_state=case["state"],
        to_state=case["state"],
        reason=reason,
        old_values={"deadline": deadline["key"], "status": deadline["status"], "due_at": _iso(deadline["due_at"])},
        new_values={
            "deadline": deadline["key"],
            "status": fresh["status"],
            "due_at": _iso(fresh["due_at"]),
            "ledger": entry,
        },
        extra_notices=(NoticeRule(notice),),
        notice_context={
            "deadline": deadline["key"],
            "label": deadline["label"],
            "due_at": _iso(fresh["due_at"]),
            "old_due_at": _iso(deadline["due_at"]),
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _key(due: DueTime) -> tuple[datetime | None, bool]:
    return due.due_at, due.estimated
