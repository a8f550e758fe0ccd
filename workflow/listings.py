"""The official lists' entries: lookup, add and remove by hand, import in bulk (LG-LIST-1, SZ-LIST-1).

An entry (list key, credit code, since, until, source, note) is kept in the ``listings`` table
and never deleted: who added it, when and why is on the row, and a removal records who, when
and why beside it. An import (rows from a CSV or XLSX file, parsed by the caller) is checked
whole first: a dry run reports what would be added, what is already there and every row in
error (by line and column), and an import with any error writes nothing.

When an entry valid today is added for an applicant with an open case in a program that checks
that list, the case is *flagged* in the same transaction: an audited ``listing.flagged`` event on
the case (its state unchanged) and a staff notice (``applicant_listed``). An entry dated to start
later is marked ``flag_on_start``; the worker's tick (:meth:`Listings.flag_started`) flags the open
cases once its start day has come, by the clock, in the transaction that clears the mark, so each
(entry, case) is flagged once, with two workers and after a restart. Guards read the entries
valid at the command's clock through :func:`active_entries`, which the engine calls only for the
events whose guards ask for lists.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from workflow.applicants import validate_uscc
from workflow.clock import SHANGHAI
from workflow.context import EngineContext, require_reason
from workflow.definition import STAFF_ROLES, SYSTEM, Actor, NoticeRule
from workflow.errors import FilingFlowError, InvalidInput, NotFound, NotPermitted
from workflow.official_lists import ListEntry, ListingEffect, OfficialList
from workflow.store import active_listing_rows
from workflow.tables import cases, listings
from workflow.writes import Change

FLAGGED = "listing.flagged"
LISTED_NOTICE = "applicant_listed"
MAX_IMPORT_ROWS = 10_000
SWEEP_BATCH = 200
log = logging.getLogger("filingflow.listings")
COLUMNS = ("list", "credit_code", "since", "until", "source", "note")
"""The columns of an import file, in this order, with this header row."""


class ListingNotFound(NotFound):
    """No list entry with that id."""


def today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def _entry(row: Mapping[Any, Any]) -> ListEntry:
    return ListEntry(
        id=row["id"],
        list_key=row["list_key"],
        applicant_code=row["applicant_code"],
        since=row["since"],
        until=row["until"],
        source=row["source"],
        note=row["note"],
    )


def active_entries(conn: sa.Connection, applicant_code: str, now: datetime) -> tuple[ListEntry, ...]:
    """The applicant's entries not removed and valid on today's date (Asia/Shanghai)."""
    return tuple(_entry(r) for r in active_listing_rows(conn, applicant_code, today(now)))


@dataclass(frozen=True, slots=True)
class RowError:
    """A row of an import that cannot be taken: its line in the file, the column, what is wrong."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    dry_run: bool
    batch: str | None
    added: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    flagged_cases: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "batch": self.batch,
            "added": self.added,
            "unchanged": self.unchanged,
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in self.errors],
            "flagged_cases": self.flagged_cases,
        }


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value: Any, column: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a date YYYY-MM-DD", field=column)
    text = value.strip()
    if not _DATE.fullmatch(text):  # fromisoformat alone also reads 20250101 and the week date 2025-W01-3
        raise InvalidInput(f"{text!r} is not a date YYYY-MM-DD", field=column)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{value.strip()!r} is not a date YYYY-MM-DD", field=column) from None


def _text(value: Any, column: str, *, limit: int, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InvalidInput("is required", field=column)
    if len(text) > limit:
        raise InvalidInput(f"must be at most {limit} characters, got {len(text)}", field=column)
    return text


class _HasContext(Protocol):
    """An engine: what the lists need of it is its context (database, programs, clock, audit key)."""

    @property
    def context(self) -> EngineContext: ...


class Listings:
    """Staff's commands on the official lists, over an engine (its database, clock and audit key)."""

    def __init__(self, engine: _HasContext) -> None:
        self.context = engine.context

    def known_lists(self) -> dict[str, OfficialList]:
        """Every list some program checks, by key (the first program's labels)."""
        known: dict[str, OfficialList] = {}
        for process in self.context.programs:
            for official in process.definition.official_lists:
                known.setdefault(official.key, official)
        return known

    def validated(self, values: Mapping[Any, Any]) -> dict[str, Any]:
        """One entry's values checked and normalised; :class:`InvalidInput` names the column."""
        key = _text(values.get("list"), "list", limit=60, required=True)
        if key not in self.known_lists():
            known = ", ".join(sorted(self.known_lists()))
            raise InvalidInput(f"unknown list {key!r} (known: {known})", field="list")
        code = validate_uscc(
            _text(values.get("credit_code"), "credit_code", limit=18, required=True), field="credit_code"
        )
        since = _date(values.get("since"), "since")
        until_raw = values.get("until")
        until = None if until_raw in (None, "") else _date(until_raw, "until")
        if until is not None and until < since:
            raise InvalidInput(f"until {until} is before since {since}", field="until")
        return {
            "list_key": key,
            "applicant_code": code,
            "since": since,
            "until": until,
            "source": _text(values.get("source"), "source", limit=200, required=True),
            "note": _text(values.get("note"), "note", limit=2000, required=False),
        }

    # ---- reads ------------------------------------------------------------------------

    def entries(
        self, *, applicant_code: str | None = None, list_key: str | None = None, include_removed: bool = False
    ) -> list[dict[str, Any]]:
        query = sa.select(listings).order_by(listings.c.id)
        if applicant_code is not None:
            query = query.where(listings.c.applicant_code == applicant_code.strip().upper())
        if list_key is not None:
            query = query.where(listings.c.list_key == list_key)
        if not include_removed:
            query = query.where(listings.c.removed_at.is_(None))
        with self.context.database.connect() as conn:
            return [_row_json(r) for r in conn.execute(query).mappings()]

    def active(self, applicant_code: str) -> tuple[ListEntry, ...]:
        with self.context.database.connect() as conn:
            return active_entries(conn, applicant_code, self.context.clock.now())

    # ---- commands ---------------------------------------------------------------------

    def add(self, values: Mapping[Any, Any], *, actor: Actor, reason: str) -> tuple[dict[str, Any], list[int]]:
        """Add one entry by hand (staff, with a reason); returns it and the cases it flagged."""
        _staff_only(actor)
        reason = require_reason(reason, case_id=None)
        entry = self.validated(values)
        now = self.context.clock.now()
        with self.context.store.transaction() as conn:
            row = insert_entry(conn, entry, actor=actor, reason=reason, now=now)
            flagged = flag_open_cases(self.context, conn, _entry(row), actor=actor, now=now)
        return _row_json(row), flagged

    def remove(self, entry_id: int, *, actor: Actor, reason: str) -> dict[str, Any]:
        """Take an entry off its list (staff, with a reason): the row stays, marked removed."""
        _staff_only(actor)
        reason = require_reason(reason, case_id=None)
        now = self.context.clock.now()
        with self.context.store.transaction() as conn:
            done = conn.execute(
                listings.update()
                .where(listings.c.id == entry_id, listings.c.removed_at.is_(None))
                .values(removed_by=actor.name, removed_reason=reason, removed_at=now, flag_on_start=False)
            )
            row = conn.execute(sa.select(listings).where(listings.c.id == entry_id)).mappings().first()
            if row is None:
                raise ListingNotFound(f"no list entry {entry_id}", field="entry_id")
            if done.rowcount == 0:
                raise InvalidInput(f"list entry {entry_id} was already removed", field="entry_id")
        return _row_json(row)

    def flag_started(self, *, limit: int = SWEEP_BATCH) -> list[tuple[int, int]]:
        """Flag the open cases of every entry whose start day has come since it was added; ``(entry, case)`` pairs.

        The worker's tick runs it. Each entry is handled in its own transaction that flags its
        cases and clears its ``flag_on_start`` mark together, so a pair is flagged exactly once:
        a second worker skips (PostgreSQL: ``SKIP LOCKED``) or finds the mark already cleared
        (SQLite's writers take turns), and a crash before the commit leaves the entry for the
        next tick. An entry that has already ended when it is swept flags nothing.
        """
        now = self.context.clock.now()
        flagged: list[tuple[int, int]] = []
        after = 0
        while True:
            due = self._started_ids(now, after, limit)
            for entry_id in due:
                try:
                    flagged.extend((entry_id, case_id) for case_id in self._flag_one(entry_id, now))
                except FilingFlowError as exc:  # a lost race with a command: the next tick tries again
                    log.error("flagging the cases of list entry %s failed, will retry: %s", entry_id, exc)
            if len(due) < limit:
                return flagged
            after = due[-1]

    def _started_ids(self, now: datetime, after: int, limit: int) -> list[int]:
        """Ids above ``after`` of the entries still to flag whose start day has come, in id order."""
        with self.context.database.connect() as conn:
            query = (
                sa.select(listings.c.id)
                .where(listings.c.flag_on_start.is_(True), listings.c.since <= today(now), listings.c.id > after)
                .order_by(listings.c.id)
                .limit(limit)
            )
            return list(conn.execute(query).scalars())

    def _flag_one(self, entry_id: int, now: datetime) -> list[int]:
        with self.context.store.transaction() as conn:
            query = sa.select(listings).where(listings.c.id == entry_id, listings.c.flag_on_start.is_(True))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).mappings().first()
            if row is None:  # another worker has it, or had it
                return []
            flagged = flag_open_cases(self.context, conn, _entry(row), actor=SYSTEM, now=now)
            conn.execute(listings.update().where(listings.c.id == entry_id).values(flag_on_start=False))
        return flagged

    def import_rows(
        self, rows: Iterable[tuple[int, Mapping[Any, Any]]], *, actor: Actor, reason: str, apply: bool
    ) -> ImportReport:
        """Import ``(line, values)`` rows: checked whole; a dry run (``apply=False``) writes nothing.

        An entry identical to one already on the list (same list, code, since, until, source) is
        reported unchanged; any error refuses the whole file (nothing is written), naming each row.
        """
        _staff_only(actor)
        reason = require_reason(reason, case_id=None)
        report = ImportReport(dry_run=not apply, batch=uuid.uuid4().hex if apply else None)
        checked: list[tuple[int, dict[str, Any]]] = []
        for count, (line, values) in enumerate(rows, start=1):
            if count > MAX_IMPORT_ROWS:
                report.errors.append(RowError(line, "*", f"more than {MAX_IMPORT_ROWS} rows: split the file"))
                break
            try:
                checked.append((line, self.validated(values)))
            except InvalidInput as exc:
                report.errors.append(RowError(line, exc.field or "*", exc.message))
        seen: dict[tuple[Any, ...], int] = {}
        for line, entry in checked:
            identity = (entry["list_key"], entry["applicant_code"], entry["since"], entry["until"], entry["source"])
            if identity in seen:
                report.errors.append(RowError(line, "credit_code", f"repeats line {seen[identity]}"))
            seen.setdefault(identity, line)
        if report.errors:
            report.batch = None
            return report
        now = self.context.clock.now()
        with self.context.store.transaction(rollback=not apply) as conn:
            for line, entry in checked:
                shown = {"line": line, **_plain(entry)}
                if _identical_exists(conn, entry):
                    report.unchanged.append(shown)
                    continue
                report.added.append(shown)
                row = insert_entry(conn, entry, actor=actor, reason=reason, now=now, batch=report.batch)
                report.flagged_cases.extend(flag_open_cases(self.context, conn, _entry(row), actor=actor, now=now))
        return report


def insert_entry(
    conn: sa.Connection,
    entry: Mapping[Any, Any],
    *,
    actor: Actor,
    reason: str,
    now: datetime,
    batch: str | None = None,
) -> Mapping[Any, Any]:
    """Insert one checked entry in the caller's transaction; returns the row as stored."""
    later = entry["since"] > today(now)  # flagged by the worker's tick on its start day (Listings.flag_started)
    new_id = conn.execute(
        listings.insert().values(
            **entry, added_by=actor.name, added_reason=reason, added_at=now, batch=batch, flag_on_start=later
        )
    ).inserted_primary_key
    assert new_id is not None
    return conn.execute(sa.select(listings).where(listings.c.id == new_id[0])).mappings().one()


def list_by_event(
    context: EngineContext,
    conn: sa.Connection,
    effect: ListingEffect,
    *,
    case_row: Mapping[Any, Any],
    payload: Mapping[Any, Any],
    actor: Actor,
    now: datetime,
) -> Mapping[Any, Any] | None:
    """An event's :class:`ListingEffect`: the applicant listed (from today, until removed) in its transaction.

    The applicant's other open cases are flagged; the case of the event is not (its own audit event says it).
    """
    if payload.get(effect.when_field) not in effect.when_values:
        return None
    reason = f"{payload.get('reason') or effect.when_field}"
    entry = {
        "list_key": effect.list_key,
        "applicant_code": case_row["applicant_code"],
        "since": today(now),
        "until": None,
        "source": f"case {case_row['id']}, {payload.get(effect.when_field)} ({effect.rule})",
        "note": "",
    }
    row = insert_entry(conn, entry, actor=actor, reason=reason, now=now)
    flag_open_cases(context, conn, _entry(row), actor=actor, now=now, besides=case_row["id"])
    return row


def flag_open_cases(
    context: EngineContext,
    conn: sa.Connection,
    entry: ListEntry,
    *,
    actor: Actor,
    now: datetime,
    besides: int | None = None,
) -> list[int]:
    """Flag every open case of the listed applicant in a program that checks the entry's list.

    Only an entry valid today flags (one that starts later is seen by the guards when it starts).
    Each flag is an audited ``listing.flagged`` event on the case and a staff notice.
    """
    if not entry.valid_on(today(now)):
        return []
    flagged = []
    for case_id in _open_cases_watching(context, conn, entry):
        if case_id == besides:
            continue
        loaded = context.store.load(conn, case_id)
        process = context.process(loaded.row)
        official = next((o for o in process.definition.official_lists if o.key == entry.list_key), None)
        if official is None:  # this version of the program does not check it
            continue
        context.write(conn, process, loaded, _flag(official, entry, loaded.row["state"], actor), now)
        flagged.append(case_id)
    return flagged


def _open_cases_watching(context: EngineContext, conn: sa.Connection, entry: ListEntry) -> list[int]:
    """The listed applicant's open cases in programs that check the entry's list, oldest first."""
    watching = [p.key for p in context.programs if any(o.key == entry.list_key for o in p.definition.official_lists)]
    if not watching:
        return []
    return list(
        conn.execute(
            sa.select(cases.c.id)
            .where(
                cases.c.applicant_code == entry.applicant_code,
                cases.c.final.is_(False),
                cases.c.program_key.in_(sorted(set(watching))),
            )
            .order_by(cases.c.id)
        ).scalars()
    )


def _flag(official: OfficialList, entry: ListEntry, state: str, actor: Actor) -> Change:
    """The audited flag on a case whose applicant was listed: no state change, a staff notice."""
    return Change(
        kind="listing",
        actor=actor,
        event=FLAGGED,
        from_state=state,
        to_state=state,
        reason=f"the applicant is on {official.label_en} ({official.label}) since {entry.since} ({official.rule})",
        new_values={"listing": entry.to_json(), "rule": official.rule},
        extra_notices=(NoticeRule(LISTED_NOTICE, ("email",), official.rule, audience="staff"),),
        notice_context={"list_label": official.label, "rule": official.rule, "listing": entry.to_json()},
    )


def _identical_exists(conn: sa.Connection, entry: Mapping[Any, Any]) -> bool:
    until = listings.c.until.is_(None) if entry["until"] is None else listings.c.until == entry["until"]
    found = conn.execute(
        sa.select(listings.c.id)
        .where(
            listings.c.list_key == entry["list_key"],
            listings.c.applicant_code == entry["applicant_code"],
            listings.c.since == entry["since"],
            until,
            listings.c.source == entry["source"],
            listings.c.removed_at.is_(None),
        )
        .limit(1)
    ).first()
    return found is not None


def _staff_only(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise NotPermitted("only staff keep the official lists", field="role")


def _plain(entry: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in entry.items()}


def _row_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {c.name: row[c.name] for c in listings.c}
    for name in ("since", "until"):
        out[name] = out[name].isoformat() if out[name] else None
    for name in ("added_at", "removed_at"):
        out[name] = out[name].isoformat() if out[name] else None
    return out
