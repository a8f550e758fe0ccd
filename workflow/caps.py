"""Shared caps: one applicant's cases that draw on one cap (e.g. a voucher's annual cap, SZ-AMT-2).

A program with a ``cap_group`` lets several cases of one applicant share a cap. Who gets
what is decided by one allocation rule, used everywhere an amount is computed:

1. Granted cases (a definition's ``granted_states``, e.g. a voucher issued) keep what they
   were granted: that money is spent, whatever happens to other cases later.
2. Every other live case claims in *claim order*: submitted cases by submission time,
   then drafts by when they were opened (their id); each gets at most what the cap has
   left after the granted cases and the live cases ahead of it.
3. Finished cases that were not granted (rejected, withdrawn, abandoned) claim nothing.

So a second case gets only what remains, a withdrawn case frees its share for the cases
behind it, and a case that grows never takes what an earlier or granted case holds. The
engine applies the rule to the case a command changes and then *rebalances* the
applicant's other live cases in the group, auditing each amount that moves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from workflow.database import READ_ONLY, Prepared, constant, fetch
from workflow.definition import SYSTEM
from workflow.engine_base import EngineBase
from workflow.errors import ConflictError
from workflow.process import CompiledProcess
from workflow.tables import cases
from workflow.writes import Change

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))")
_TRY_ADVISORY_LOCK = sa.text("SELECT pg_try_advisory_xact_lock(hashtext(:key))")
NO_WAIT = "filingflow_no_wait"
"""Execution option of the deadline sweep's transactions: it already holds its case and deadline rows,
so it must not wait for the cap group's lock (a command holding that lock may be waiting for those
rows: a deadlock). It takes the lock only if free, else steps aside for the next sweep."""

Row = Mapping[Any, Any]


def claim_order(row: Row) -> tuple[bool, datetime, int]:
    """Submitted cases first, by submission time; then drafts by when they were opened."""
    submitted = row["submitted_at"]
    return (submitted is None, submitted or _EPOCH, row["id"])


def already_claimed(subject: Row, others: Iterable[Row], *, granted: Callable[[Row], bool]) -> int:
    """What the cap has given away before ``subject``: granted cases, and live cases ahead of it."""
    position = claim_order(subject)
    total = 0
    for row in others:
        if row["id"] == subject["id"]:
            continue
        if granted(row) or (not row["final"] and claim_order(row) < position):
            total += row["amount_fen"] or 0
    return total


def rebalance(
    rows: Iterable[Row],
    *,
    granted: Callable[[Row], bool],
    amount: Callable[[Row, int], int | None],
) -> dict[int, int | None]:
    """Each live, ungranted case's amount under the allocation rule, keyed by case id."""
    rows = list(rows)
    spent = sum(row["amount_fen"] or 0 for row in rows if granted(row))
    out: dict[int, int | None] = {}
    for row in sorted((r for r in rows if not r["final"] and not granted(r)), key=claim_order):
        fen = amount(row, spent)
        out[row["id"]] = fen
        spent += fen or 0
    return out


@functools.lru_cache(maxsize=64)
def _cap_rows_statement(programs: tuple[str, ...], *, locking: bool, besides: bool) -> Prepared:
    """The applicant's cases in ``programs``, built once (every command of a capped program reads them).

    The program keys come from the definitions and are written into the SQL, not bound
    (:func:`~workflow.database.constant`): a bound ``IN`` list cannot be compiled once.
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


class CapAllocation(EngineBase):
    """The engine's side of the allocation rule: read the group, compute, rebalance with audit."""

    def _cap_rows(
        self, conn: sa.Connection, process: CompiledProcess, applicant_code: str, *, besides: int | None = None
    ) -> list[Row]:
        """The applicant's cases in the program's cap group (``besides``: all but that case, already loaded).

        On PostgreSQL a write transaction first takes an advisory lock on (group, applicant) and
        locks the rows, so two commands on one applicant's cases allocate one after the other
        (SQLite's ``BEGIN IMMEDIATE`` already serialises writers).
        """
        group = process.definition.cap_group
        if group is None:
            return []
        writing = not conn.get_execution_options().get(READ_ONLY, False)
        if writing and conn.dialect.name == "postgresql":
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
        locking = writing and conn.dialect.name == "postgresql"  # the loaded case is locked with the rest
        statement = _cap_rows_statement(tuple(self._cap_programs(group)), locking=locking, besides=not locking)
        rows = fetch(conn, statement, {"applicant_code": applicant_code, "besides": besides or 0})
        return [dict(r) for r in rows if r["id"] != besides]

    def _cap_programs(self, group: str) -> list[str]:
        return sorted({p.key for p in self.programs if p.definition.cap_group == group})

    def _granted(self, row: Row) -> bool:
        return row["state"] in self.programs.get(row["program_key"], row["program_version"]).definition.granted_states

    def _cap_fen(self, row: Row, spent: int) -> int | None:
        amount = self.programs.get(row["program_key"], row["program_version"]).definition.amount(row["data"], spent)
        return amount.fen if amount else None

    def _claimed_before(self, subject: Row, rows: list[Row]) -> int:
        return already_claimed(subject, rows, granted=self._granted)

    def _allocate(self, subject: Row, rows: list[Row]) -> int | None:
        """The subject's amount under the allocation rule, the subject taken as it will be written."""
        others = [r for r in rows if r["id"] != subject["id"]]
        return rebalance([*others, subject], granted=self._granted, amount=self._cap_fen).get(
            subject["id"], subject["amount_fen"]
        )

    def _rebalance_cap(
        self,
        conn: sa.Connection,
        process: CompiledProcess,
        subject: Row,
        *,
        cause: str,
        now: datetime,
        rows: list[Row] | None = None,
    ) -> list[int]:
        """After ``subject`` changed, move the other cases' amounts to the allocation rule; audited each.

        ``rows``: the group as this transaction read it before writing ``subject`` (:meth:`_cap_rows`),
        to save reading it again. That read holds the group (SQLite's ``BEGIN IMMEDIATE``; on
        PostgreSQL the advisory lock and the row locks), so only ``subject`` can have changed since.
        """
        if rows is None:
            rows = self._cap_rows(conn, process, subject["applicant_code"])
        else:
            rows = [dict(subject) if row["id"] == subject["id"] else row for row in rows]
        if all(row["id"] == subject["id"] for row in rows):
            return []  # the applicant's only case in the group: no other amount can move
        plan = rebalance(rows, granted=self._granted, amount=self._cap_fen)
        moved = []
        for row in rows:
            if row["id"] == subject["id"] or row["id"] not in plan or plan[row["id"]] == row["amount_fen"]:
                continue
            definition = self.programs.get(row["program_key"], row["program_version"])
            rule = definition.definition.cap_rule or definition.definition.cap_group
            change = Change(
                kind="amount",
                actor=SYSTEM,
                event="amount.rebalanced",
                from_state=row["state"],
                to_state=row["state"],
                reason=f"{cause}: case {subject['id']} shares the applicant's cap ({rule})",
                old_values={"amount_fen": row["amount_fen"]},
                new_values={"amount_fen": plan[row["id"]]},
            )
            self._write(conn, definition, row, change, now, case_values={"amount_fen": plan[row["id"]]})
            moved.append(row["id"])
        return moved
