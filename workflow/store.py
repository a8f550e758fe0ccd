"""The one store: the command transaction, the loads of a command, and executing a :class:`Plan`.

It is the only code that knows the SQL fast paths (:mod:`workflow.driver`: statements built
and compiled once, run straight on the driver, pipelined on PostgreSQL): a command is five
to eight statements, and SQLAlchemy's per-execute machinery used to cost more than the
database work. The case row is updated first with ``WHERE version = :seen`` so a concurrent
change is detected before anything else is written (and rolled back with the transaction).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from workflow.audit import HASHED_FIELDS, canonical
from workflow.database import READ_ONLY, read_only
from workflow.driver import Prepared, constant, fetch, pipeline, run, send
from workflow.errors import CaseNotFound, ConflictError, GuardRefused, InvalidInput, StorageUnavailable
from workflow.plan import LoadedCase, OpenDeadline, Plan, deadline_record
from workflow.statuses import OPEN_STATUSES, Channel, DeadlineStatus, NoticeStatus
from workflow.tables import audit_events, cases, deadlines, listings, notices, webhook_subscriptions
from workflow.writes import NOTICE_COLUMNS, WriteResult

# PostgreSQL's deadlock_detected and serialization_failure: the loser of a race, whatever the lock order
LOST_RACE_STATES = frozenset({"40P01", "40001"})
NO_WAIT = "filingflow_no_wait"
"""Execution option of the deadline sweep's transactions: it already holds its case and deadline rows,
so it must not wait for the cap group's lock (a command holding that lock may be waiting for those
rows: a deadlock). It takes the lock only if free, else steps aside for the next sweep."""
_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_TRY_ADVISORY_LOCK = sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:key))")


class _JSONText(sa.types.TypeDecorator[str]):
    """A JSON column bound from its text, already serialised (canonically, see workflow.audit).

    The plan serialises each JSON value once anyway, to hash or to normalise it; binding
    that text saves serialising it again per row. Stored and read back as JSON.
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
_OPEN_DEADLINES_OF_CASE = Prepared(sa.select(deadlines).where(deadlines.c.case_id == sa.bindparam("case_id"), IS_OPEN))
_LOAD_CASE = Prepared(sa.select(cases).where(cases.c.id == sa.bindparam("case_id")))
_EVENT_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_DEADLINE_COLUMNS = tuple(c.name for c in deadlines.c if c.name not in {"id", "closed_at"})
_INSERT_AUDIT = _insert(audit_events, _EVENT_COLUMNS)
_INSERT_DEADLINE = _insert(deadlines, _DEADLINE_COLUMNS, returning=deadlines.c.id)
_NOTICES_PER_INSERT = 16
_CLOSE_DEADLINE = Prepared(
    deadlines.update()
    .where(deadlines.c.id == sa.bindparam("w_id"))
    .values(status=sa.bindparam("status"), closed_at=sa.bindparam("closed_at"))
)


def _claim_with_case_statement(dialect: Dialect) -> sa.Executable:
    query = (
        sa.select(*(c.label(f"d_{c.name}") for c in deadlines.c), *(c.label(f"c_{c.name}") for c in cases.c))
        .select_from(deadlines.join(cases, cases.c.id == deadlines.c.case_id))
        .where(
            deadlines.c.id == sa.bindparam("deadline_id"),
            deadlines.c.status == constant(DeadlineStatus.PENDING),
            deadlines.c.due_at <= sa.bindparam("now"),
        )
    )
    if dialect.name != "postgresql":
        return query
    # The case row is locked with the deadline, both skipped when either is held: a command takes its
    # case row and then its deadlines, so a sweep that waited for the case while holding the deadline
    # deadlocked with it (issue 13). Never waiting while holding, the sweep leaves that case for the next tick.
    return query.with_for_update(skip_locked=True, of=[cases, deadlines])


_CLAIM_WITH_CASE = Prepared(_claim_with_case_statement)
_claimed = deadlines.alias("claimed")
_OPEN_DEADLINES_BESIDE = Prepared(
    sa.select(deadlines).where(
        deadlines.c.case_id
        == sa.select(_claimed.c.case_id).where(_claimed.c.id == sa.bindparam("deadline_id")).scalar_subquery(),
        IS_OPEN,
    )
)


_day = sa.bindparam("day", type_=listings.c.since.type)
_ACTIVE_LISTINGS = Prepared(
    sa.select(listings)
    .where(
        listings.c.applicant_code == sa.bindparam("applicant_code"),
        listings.c.removed_at.is_(None),
        listings.c.since <= _day,
        sa.or_(listings.c.until.is_(None), listings.c.until >= _day),
    )
    .order_by(listings.c.since, listings.c.id)
)


def active_listing_rows(conn: sa.Connection, applicant_code: str, day: date) -> list[dict[str, Any]]:
    """The applicant's official-list entries not removed and valid on ``day`` (LG-LIST-1, SZ-LIST-1).

    Compiled once: a command whose guard checks lists reads them every time, and building
    the query per command cost more than the rest of that command's reads together.
    """
    return fetch(conn, _ACTIVE_LISTINGS, {"applicant_code": applicant_code, "day": day})


class Store:
    """Loads what a command decides from and executes the plans it decided, in its transaction."""

    def __init__(self, database: sa.Engine) -> None:
        self.database = database

    @contextmanager
    def transaction(
        self,
        *,
        case_id: int | None = None,
        event: str | None = None,
        live_rule: str | None = None,
        rollback: bool = False,
    ) -> Iterator[sa.Connection]:
        """One command's transaction (rolled back instead of committed for a dry run).

        Two commands that pass their checks concurrently can still collide on a unique
        constraint (two opens for one applicant, one idempotency key used twice at once,
        two writers of one audit sequence number): the loser gets the error it would have
        got a moment later. Any other integrity error is a bug and is raised as it is.
        """
        try:
            with self.database.connect() as conn:
                transaction = conn.begin()
                try:
                    yield conn
                except BaseException:
                    transaction.rollback()
                    raise
                if rollback:
                    transaction.rollback()
                else:
                    transaction.commit()
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise _storage_error(exc, case_id, event) from exc
        except sa.exc.IntegrityError as exc:
            if not _is_unique_violation(exc):
                raise
            raise _unique_error(exc, case_id, event, live_rule) from exc

    # ---- loads ------------------------------------------------------------------------

    def load(self, conn: sa.Connection, case_id: int, *, with_deadlines: bool = True) -> LoadedCase:
        """The case row with its open deadlines, read in one round trip (``with_deadlines=False``: none)."""
        if not isinstance(case_id, int) or isinstance(case_id, bool):
            raise InvalidInput("case id must be an integer", field="case_id")
        if not with_deadlines:
            rows, open_rows = fetch(conn, _LOAD_CASE, {"case_id": case_id}), []
        else:
            with pipeline(conn):
                loaded = send(conn, _LOAD_CASE, {"case_id": case_id})
                beside = send(conn, _OPEN_DEADLINES_OF_CASE, {"case_id": case_id})
            rows, open_rows = loaded(), beside()
        if not rows:
            raise CaseNotFound(f"no case {case_id}", case_id=case_id, field="case_id")
        return LoadedCase(rows[0], tuple(OpenDeadline.from_row(r) for r in open_rows))

    def claim_with_case(
        self, conn: sa.Connection, deadline_id: int, now: datetime
    ) -> tuple[OpenDeadline, LoadedCase] | None:
        """The deadline if it is still pending and still due (an extension may have just moved it),
        with its case and the case's open deadlines, in one round trip.

        On PostgreSQL the deadline row and its case row are locked for the transaction, and skipped
        (``None``) while another worker or a command holds either, so the sweep never waits for a lock
        while holding one (the lock order of commands is case, then deadlines); SQLite's
        ``BEGIN IMMEDIATE`` already serialises the writers. A concurrent change to the open
        deadlines between these reads and the case update is caught by the version check
        (every change to a deadline changes its case's version).
        """
        with pipeline(conn):
            claimed = send(conn, _CLAIM_WITH_CASE, {"deadline_id": deadline_id, "now": now})
            beside = send(conn, _OPEN_DEADLINES_BESIDE, {"deadline_id": deadline_id})
        rows, open_rows = claimed(), beside()
        if not rows:
            return None
        row = rows[0]
        deadline = OpenDeadline.from_row({c.name: row[f"d_{c.name}"] for c in deadlines.c})
        case = {c.key: row[f"c_{c.name}"] for c in cases.c}
        return deadline, LoadedCase(case, tuple(OpenDeadline.from_row(r) for r in open_rows))

    def due_deadline_ids(self, column: sa.ColumnElement[Any], now: datetime, limit: int) -> list[int]:
        """Ids of pending deadlines whose ``column`` (due time, next reminder) has come, oldest first.

        The partial indexes on pending rows keep this proportional to what is due, not to
        every deadline ever opened.
        """
        with read_only(self.database) as conn:
            return list(
                conn.execute(
                    sa.select(deadlines.c.id)
                    .where(deadlines.c.status == DeadlineStatus.PENDING.value, column <= now)
                    .order_by(column, deadlines.c.id)
                    .limit(limit)
                ).scalars()
            )

    def cap_group_rows(
        self, conn: sa.Connection, group: str, programs: tuple[str, ...], applicant_code: str, besides: int | None
    ) -> list[dict[str, Any]]:
        """The applicant's cases in a cap group's ``programs`` (``besides``: all but that case, already loaded).

        On PostgreSQL a write transaction first takes an advisory lock on (group, applicant) and
        locks the rows, so two commands on one applicant's cases allocate one after the other
        (SQLite's ``BEGIN IMMEDIATE`` already serialises writers).
        """
        writing = not conn.get_execution_options().get(READ_ONLY, False)
        if writing and conn.dialect.name == "postgresql":
            _lock_cap_group(conn, group, applicant_code)
        locking = writing and conn.dialect.name == "postgresql"  # the loaded case is locked with the rest
        statement = _cap_rows_statement(programs, locking=locking, besides=not locking)
        rows = fetch(conn, statement, {"applicant_code": applicant_code, "besides": besides or 0})
        return [dict(r) for r in rows if r["id"] != besides]

    # ---- writes -----------------------------------------------------------------------

    def execute(self, conn: sa.Connection, plan: Plan) -> WriteResult:
        """Write a decided plan: every statement in one round trip on PostgreSQL.

        The version check is read after it: if the update found another version, the
        transaction is rolled back with all of it (and the audit insert usually fails first,
        on the sequence number the other change took).
        """
        with pipeline(conn):
            update = _case_update(frozenset(plan.case_values))
            parameters = {**plan.case_values, "w_id": plan.case_id, "w_version": plan.seen_version}
            if conn.dialect.name == "sqlite":  # no pipeline: its row count, checked before writing the rest
                _check_updated(conn, run(conn, update, parameters), plan)
                updated = None
            else:
                updated = send(conn, update, parameters)
            run(conn, _INSERT_AUDIT, plan.audit)
            for deadline_id, status in plan.close:
                run(conn, _CLOSE_DEADLINE, {"w_id": deadline_id, "status": status, "closed_at": plan.audit["at"]})
            insert_notices(conn, plan.notices, webhooks=plan.webhook)
            inserted = [send(conn, _INSERT_DEADLINE, {**r, "ledger": canonical(r["ledger"])}) for r in plan.open]
        if updated is not None:
            _check_updated(conn, len(updated()), plan)
        opened = [deadline_record(r, rows()[0]["id"]) for r, rows in zip(plan.open, inserted, strict=True)]
        return WriteResult(
            version=plan.case_values["version"],
            deadlines_closed=plan.closed_keys,
            deadlines_opened=tuple(r["key"] for r in plan.open),
            notices=plan.queued,
            case_row=plan.case_row,
            open_deadlines=(*plan.staying_open, *opened),
        )

    def insert_notices_once(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
        """Insert outbox rows, skipping any whose idempotency key is already queued; returns how many went in."""
        if not rows:
            return 0
        insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        statement = insert(notices).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(notices.c.id)
        # one by one, counting the rows returned: rowcount is not reliable across drivers here
        return sum(len(conn.execute(statement, row).all()) for row in rows)


def _lock_cap_group(conn: sa.Connection, group: str, applicant_code: str) -> None:
    """Take the (group, applicant) advisory lock; the sweep (``NO_WAIT``) only if it is free."""
    key = {"key": f"cap:{group}:{applicant_code}"}
    if not conn.get_execution_options().get(NO_WAIT, False):
        conn.execute(_ADVISORY_LOCK, key)
    elif not conn.execute(_TRY_ADVISORY_LOCK, key).scalar():
        raise ConflictError(
            f"the applicant's cap group {group} is being changed by another command; retried next sweep",
            expected=None,
            actual=None,
            field="applicant.code",
        )


@functools.lru_cache(maxsize=64)
def _cap_rows_statement(programs: tuple[str, ...], *, locking: bool, besides: bool) -> Prepared:
    """The applicant's cases in ``programs``, built once (every command of a capped program reads them).

    The program keys come from the definitions and are written into the SQL, not bound
    (:func:`~workflow.driver.constant`): a bound ``IN`` list cannot be compiled once.
    ``locking``: the rows are locked for the transaction (PostgreSQL). ``besides``: leave out
    case ``:besides`` (``0``: none), which the command has loaded already: most applicants
    have one case in a group, and reading it twice was a third of the group's cost.
    """

    def build(dialect: Dialect) -> sa.Executable:
        query = sa.select(cases).where(
            cases.c.program_key.in_([constant(key) for key in programs]),
            cases.c.applicant_code == sa.bindparam("applicant_code"),
        )
        if besides:
            query = query.where(cases.c.id != sa.bindparam("besides", type_=sa.Integer))
        return query.with_for_update() if locking else query

    return Prepared(build)


def insert_notices(
    connection: sa.Connection, rows: list[dict[str, Any]], *, webhooks: dict[str, Any] | None = None
) -> None:
    """Queue outbox rows (each with every column of :data:`NOTICE_COLUMNS`), and the webhook rows of a change.

    A row's ``context`` is a JSON-native value, or its canonical text (a plan's rows).

    One INSERT for up to 16 rows, the webhook rows (:func:`_webhook_rows`, given
    :func:`workflow.plan.webhook_values`) chosen in the same statement.
    """
    texts: dict[int, str] = {}  # the rows of one change share one context: serialise it once
    starts = range(0, len(rows), _NOTICES_PER_INSERT) if rows else range(1 if webhooks is not None else 0)
    for start in starts:
        chunk = rows[start : start + _NOTICES_PER_INSERT]
        values: dict[str, Any] = {}
        for row, names in zip(chunk, _BIND_NAMES, strict=False):
            for column, name in names:
                values[name] = row[column]
            context = row["context"]
            text = context if isinstance(context, str) else texts.get(id(context))  # a plan's: canonical text
            if text is None:
                text = texts[id(context)] = canonical(context)
            values[names[_CONTEXT_AT][1]] = text
        if webhooks is not None and start + _NOTICES_PER_INSERT >= len(rows):  # the last statement takes them
            run(connection, _insert_outbox(len(chunk), True), {**values, **webhooks})
        else:
            run(connection, _insert_outbox(len(chunk), False), values)


_BIND_NAMES = tuple(tuple((c, f"{c}_{i}") for c in NOTICE_COLUMNS) for i in range(_NOTICES_PER_INSERT))
"""Per row of an outbox INSERT, each column with the name of its bind (built once, not per command)."""
_CONTEXT_AT = NOTICE_COLUMNS.index("context")


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


def _webhook_rows(dialect: Dialect) -> sa.Select[Any]:
    """One outbox row per active webhook subscription that wants the change, chosen by the database.

    Why in SQL: the rows then need no query of their own and no cache that could go stale,
    and they can be sent with the case update in one round trip. Which changes a new
    subscription gets: this runs after the case update in the same transaction, so on
    SQLite, whose writers are serialised by ``BEGIN IMMEDIATE``, exactly every change
    committed after the subscription. On PostgreSQL its snapshot is taken after the update
    holds its lock on ``cases``, so a subscription created under
    :func:`workflow.writes.hold_writers` gets exactly every change committed after it too;
    created without, only a command already past its case update when the subscription
    committed (a few milliseconds) can miss it. A subscription's ``events`` filter: empty
    (or missing) takes every change, else the change's kind or event must be listed.
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
        constant(Channel.WEBHOOK),
        subscriber,
        sa.bindparam("w_key_prefix", type_=sa.String) + subscriber,
        sa.bindparam("w_context", type_=_JSONText()),
        constant(NoticeStatus.PENDING),
        sa.literal_column("0", type_=sa.Integer),
        now,
        now,
    ).where(subs.c.active, wanted)


@functools.lru_cache(maxsize=64)
def _case_update(columns: frozenset[str]) -> Prepared:
    """``UPDATE cases SET <columns> WHERE id = :w_id AND version = :w_version``, per column set.

    On PostgreSQL with ``RETURNING id``: pipelined, its row count is not known until the
    results are read. SQLite's row count is known at once; ``RETURNING`` there cost a third
    of the statement.
    """

    def build(dialect: Dialect) -> sa.Executable:
        statement = (
            cases.update()
            .where(cases.c.id == sa.bindparam("w_id"), cases.c.version == sa.bindparam("w_version"))
            .values({name: sa.bindparam(name, type_=cases.c[name].type) for name in sorted(columns)})
        )
        out: sa.Executable = statement if dialect.name == "sqlite" else statement.returning(cases.c.id)
        return out

    return Prepared(build)


def _check_updated(connection: sa.Connection, found: int, plan: Plan) -> None:
    """Raise :class:`ConflictError` unless the case update found (``found`` rows) the version the command read."""
    if found == 1:
        return
    actual = connection.execute(sa.select(cases.c.version).where(cases.c.id == plan.case_id)).scalar()
    raise ConflictError(
        f"case {plan.case_id} changed concurrently (was version {plan.seen_version}, now {actual})",
        expected=plan.seen_version,
        actual=actual,
        case_id=plan.case_id,
        event=plan.event,
        field="version",
    )


def _storage_error(exc: sa.exc.DBAPIError, case_id: int | None, event: str | None) -> Exception:
    if getattr(exc.orig, "sqlstate", None) in LOST_RACE_STATES:  # a race lost, not an outage: 409
        return lost_race("a concurrent command held the same rows; read the case again and retry", case_id, event)
    return StorageUnavailable(
        f"the database failed during the command; nothing was written: {exc.orig}", case_id=case_id, event=event
    )


def _unique_error(
    exc: sa.exc.IntegrityError, case_id: int | None, event: str | None, live_rule: str | None
) -> Exception:
    if live_rule is not None and "live_key" in str(exc.orig):
        return GuardRefused(
            "the applicant already has a live case in this round: no duplicate filing of the same matter",
            field="applicant.code",
            rule=live_rule,
        )
    return lost_race("a concurrent command changed the same case; read it again and retry", case_id, event)


def lost_race(message: str, case_id: int | None, event: str | None) -> ConflictError:
    """The error of a command that lost a race for its rows: nothing was written, a retry may succeed."""
    return ConflictError(
        message,
        expected=None,
        actual=None,
        case_id=case_id,
        event=event,
        field="version" if case_id is not None else None,
    )


def _is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """A duplicate key (SQLSTATE 23505 on PostgreSQL; SQLite says so in its message)."""
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error.orig)
