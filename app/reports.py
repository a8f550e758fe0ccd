"""Money reports: what each round granted, and what became of it, per applicant and per round.

A program says what money a case stands for through its definition's ``figures`` (e.g. a
voucher: ``granted_fen``, ``redeemed_fen``, ``expired_fen``, ``remaining_fen``); this module
only sums them, so it names no program's field. Programs without figures are left out.
Amounts stay integer fen until a surface formats them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from workflow.database import read_only
from workflow.engine import Engine
from workflow.errors import InvalidInput
from workflow.money import format_yuan
from workflow.tables import cases


@dataclass(slots=True)
class Line:
    """The summed figures of one round, or of one applicant in one round."""

    program: str
    title: str
    applicant_code: str | None = None
    applicant_name: str | None = None
    cases: int = 0
    figures: dict[str, int] = field(default_factory=dict)

    def add(self, figures: dict[str, int]) -> None:
        self.cases += 1
        for key, fen in figures.items():
            self.figures[key] = self.figures.get(key, 0) + fen


@dataclass(frozen=True, slots=True)
class MoneyReport:
    rounds: list[Line]
    applicants: list[Line]
    figures: tuple[str, ...]
    """Every figure named by the reported programs, in first-seen order (the columns)."""


def money_report(engine: Engine, program: str | None = None) -> MoneyReport:
    """Sum each program's figures per applicant and per round (``program``: one round only)."""
    processes = [p for p in engine.programs.latest() if p.definition.figures is not None]
    if program is not None:
        processes = [p for p in processes if p.key == program]
        if not processes:
            engine.programs.get(program)  # an unknown program raises UnknownProgram, naming it
            raise InvalidInput(f"program {program!r} reports no money figures", field="program")
    keys = [p.key for p in processes]
    rounds = {p.key: Line(p.key, p.definition.title) for p in processes}
    applicants: dict[tuple[str, str], Line] = {}
    names: dict[str, None] = {}
    with read_only(engine.database) as conn:
        rows = conn.execute(
            sa.select(
                cases.c.program_key,
                cases.c.program_version,
                cases.c.applicant_code,
                cases.c.applicant_name,
                cases.c.state,
                cases.c.data,
                cases.c.amount_fen,
            )
            .where(cases.c.program_key.in_(keys))
            .order_by(cases.c.program_key, cases.c.applicant_code, cases.c.id)
        ).mappings()
        for row in rows:
            figures_of = engine.programs.get(row["program_key"], row["program_version"]).definition.figures
            if figures_of is None:  # an older version without figures
                continue
            figures = figures_of(row["state"], row["data"], row["amount_fen"])
            names.update(dict.fromkeys(figures))
            rounds[row["program_key"]].add(figures)
            line = applicants.setdefault(
                (row["program_key"], row["applicant_code"]),
                Line(
                    row["program_key"],
                    rounds[row["program_key"]].title,
                    row["applicant_code"],
                    row["applicant_name"],
                ),
            )
            line.add(figures)
    return MoneyReport(list(rounds.values()), list(applicants.values()), tuple(names))


def report_rows(report: MoneyReport) -> Iterable[Sequence[object]]:
    """The report as table rows (CSV): one per applicant and round, then one total per round, in CNY."""
    yield ["program", "round", "applicant_code", "applicant_name", "cases", *(_column(n) for n in report.figures)]
    for line in [*report.applicants, *report.rounds]:
        yield [
            line.program,
            line.title,
            line.applicant_code or "(round total)",
            line.applicant_name or "",
            line.cases,
            *(format_yuan(line.figures.get(n, 0)).replace(",", "") for n in report.figures),
        ]


def _column(name: str) -> str:
    return f"{name.removesuffix('_fen')}_cny"
