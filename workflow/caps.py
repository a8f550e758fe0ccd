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

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from workflow.context import EngineContext
from workflow.definition import SYSTEM
from workflow.plan import LoadedCase
from workflow.process import CompiledProcess
from workflow.writes import Change

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


class Caps:
    """The engine's side of the allocation rule: read the group, compute, rebalance with audit."""

    def __init__(self, context: EngineContext) -> None:
        self.context = context

    def rows(
        self, conn: sa.Connection, process: CompiledProcess, applicant_code: str, *, besides: int | None = None
    ) -> list[Row]:
        """The applicant's cases in the program's cap group (``besides``: all but that case, already loaded).

        The store locks the group for a write transaction (see ``Store.cap_group_rows``).
        """
        group = process.definition.cap_group
        if group is None:
            return []
        programs = tuple(sorted({p.key for p in self.context.programs if p.definition.cap_group == group}))
        return list(self.context.store.cap_group_rows(conn, group, programs, applicant_code, besides))

    def granted(self, row: Row) -> bool:
        return row["state"] in self.context.process(row).definition.granted_states

    def _fen(self, row: Row, spent: int) -> int | None:
        amount = self.context.process(row).definition.amount(row["data"], spent)
        return amount.fen if amount else None

    def claimed_before(self, subject: Row, rows: Sequence[Row]) -> int:
        return already_claimed(subject, rows, granted=self.granted)

    def allocate(self, subject: Row, rows: Sequence[Row]) -> int | None:
        """The subject's amount under the allocation rule, the subject taken as it will be written."""
        others = [r for r in rows if r["id"] != subject["id"]]
        return rebalance([*others, subject], granted=self.granted, amount=self._fen).get(
            subject["id"], subject["amount_fen"]
        )

    def rebalance(
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

        ``rows``: the group as this transaction read it before writing ``subject`` (:meth:`rows`),
        to save reading it again. That read holds the group (SQLite's ``BEGIN IMMEDIATE``; on
        PostgreSQL the advisory lock and the row locks), so only ``subject`` can have changed since.
        """
        if rows is None:
            rows = self.rows(conn, process, subject["applicant_code"])
        else:
            rows = [dict(subject) if row["id"] == subject["id"] else row for row in rows]
        if all(row["id"] == subject["id"] for row in rows):
            return []  # the applicant's only case in the group: no other amount can move
        plan = rebalance(rows, granted=self.granted, amount=self._fen)
        moved = []
        for row in rows:
            if row["id"] == subject["id"] or row["id"] not in plan or plan[row["id"]] == row["amount_fen"]:
                continue
            self._move(conn, row, plan[row["id"]], f"{cause}: case {subject['id']}", now)
            moved.append(row["id"])
        return moved

    def _move(self, conn: sa.Connection, row: Row, fen: int | None, cause: str, now: datetime) -> None:
        """Write one case's new share of the cap, audited as ``amount.rebalanced``."""
        process = self.context.process(row)
        rule = process.definition.cap_rule or process.definition.cap_group
        change = Change(
            kind="amount",
            actor=SYSTEM,
            event="amount.rebalanced",
            from_state=row["state"],
            to_state=row["state"],
            reason=f"{cause} shares the applicant's cap ({rule})",
            old_values={"amount_fen": row["amount_fen"]},
            new_values={"amount_fen": fen},
        )
        self.context.write(conn, process, LoadedCase(row, ()), change, now, case_values={"amount_fen": fen})
