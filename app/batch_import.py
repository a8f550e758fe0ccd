"""A staff batch from a spreadsheet: rows of (unified social credit code, instant) fire one event each.

Written for the Guangdong government-service portal's approval results (an XLSX or CSV of
credit codes with the time each approval SMS went out), but generic: the command names the
program, the event and the payload field that carries the instant, so nothing here knows a
program (the README gives the Longgang command).

Two steps, both over the same plan:

* :func:`plan_import` reads the file and says, row by row, which case would move and which row
  is refused and why (a malformed code or time, a code listed twice, no open case, a case in
  another state, a rule of the program) without writing anything: the dry run.
* :func:`apply_import` plans again (the database may have moved since the dry run) and fires the
  event on each movable case in its own command, so each is audited on its case with the actor
  and the payload; an idempotency key per case and instant makes running the same file twice
  harmless.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workflow.applicants import validate_uscc
from workflow.clock import SHANGHAI
from workflow.database import read_only
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import FilingFlowError, InvalidInput
from workflow.tables import cases

CODE_HEADERS = ("统一社会信用代码", "信用代码", "credit_code", "code", "uscc")
TIME_HEADERS = ("短信发送时间", "发送时间", "通知时间", "sms_sent_at", "notified_at", "sent_at", "time")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the spreadsheet's row number (the header is line 1)
    code: object
    at: object


@dataclass(frozen=True, slots=True)
class Move:
    line: int
    code: str
    case_id: int
    version: int
    applicant_name: str
    from_state: str
    to_state: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Refused:
    line: int
    code: str
    reason: str


@dataclass
class ImportReport:
    program: str
    event: str
    moves: list[Move] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)  # case ids, after apply_import


def read_rows(path: Path) -> list[Row]:
    """The data rows of an ``.xlsx`` (first sheet) or ``.csv`` (UTF-8, BOM or not) with a header row."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        table = _xlsx_table(path)
    elif suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        table = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise InvalidInput(f"{path.name}: give an .xlsx or .csv file", field="FILE")
    if not table:
        raise InvalidInput(f"{path.name} is empty", field="FILE")
    header = [str(cell or "").strip().lower() for cell in table[0]]
    code_col, time_col = _column(header, CODE_HEADERS, path), _column(header, TIME_HEADERS, path)
    rows = [
        Row(line, _cell(values, code_col), _cell(values, time_col))
        for line, values in enumerate(table[1:], start=2)
        if any(v not in (None, "") for v in values)
    ]
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"{path.name} has {len(rows)} rows; at most {MAX_ROWS} per batch", field="FILE")
    return rows


def _xlsx_table(path: Path) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise InvalidInput(f"{path.name} is not a readable .xlsx workbook: {exc}", field="FILE") from None
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _column(header: Sequence[str], names: Iterable[str], path: Path) -> int:
    for name in names:
        if name.lower() in header:
            return header.index(name.lower())
    wanted = " or ".join(f"'{n}'" for n in names)
    raise InvalidInput(f"{path.name}: no column {wanted} in the header row {list(header)}", field="FILE")


def _cell(values: Sequence[object], column: int) -> object:
    return values[column] if column < len(values) else None


def parse_instant(value: object) -> datetime:
    """An instant from a cell: a date-time (Excel's, read as Asia/Shanghai), ISO 8601, or ``YYYY-MM-DD HH:MM``."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        parsed = next((m for m in (_strptime(text, f) for f in TIME_FORMATS) if m is not None), None)
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a time (YYYY-MM-DD HH:MM, Asia/Shanghai)") from None
        moment = parsed
    else:
        raise ValueError("the time is missing")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHANGHAI)


def _strptime(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)  # noqa: DTZ007 (the zone is added by the caller: Asia/Shanghai)
    except ValueError:
        return None


def plan_import(engine: Engine, rows: Sequence[Row], *, program: str, event: str, actor: Actor) -> ImportReport:
    """Which rows would move which case, and which are refused and why; writes nothing."""
    process = engine.programs.get(program)
    definition_event = process.event(event)  # an unknown event is refused here, naming it
    report = ImportReport(program=process.key, event=event)
    now = engine.clock.now()
    seen: dict[str, int] = {}
    for row in rows:
        raw_code = str(row.code or "").strip()
        try:
            code = validate_uscc(raw_code, field="code")
        except InvalidInput as exc:
            report.refused.append(Refused(row.line, raw_code, exc.message))
            continue
        if code in seen:
            report.refused.append(Refused(row.line, code, f"listed twice (first on line {seen[code]})"))
            continue
        seen[code] = row.line
        try:
            at = parse_instant(row.at)
        except ValueError as exc:
            report.refused.append(Refused(row.line, code, str(exc)))
            continue
        if at > now:
            report.refused.append(Refused(row.line, code, f"the time {_local(at)} is in the future"))
            continue
        with read_only(engine.database) as conn:
            found = conn.execute(
                sa.select(cases.c.id, cases.c.state, cases.c.version, cases.c.applicant_name)
                .where(cases.c.program_key == process.key, cases.c.applicant_code == code, cases.c.final.is_(False))
                .order_by(cases.c.id)
            ).all()
        movable = [c for c in found if c.state in definition_event.sources]
        if not movable:
            where = ", ".join(f"case {c.id} is {_state_label(process, c.state)}" for c in found)
            report.refused.append(Refused(row.line, code, where or f"no open case of {process.key}"))
            continue
        case = movable[0]
        option = next((o for o in engine.available_events(case.id, actor=actor) if o.name == event), None)
        if option is None or not option.allowed:
            why = str(option.refusal) if option is not None and option.refusal else f"{event} is not allowed now"
            report.refused.append(Refused(row.line, code, f"case {case.id}: {why}"))
            continue
        report.moves.append(
            Move(row.line, code, case.id, case.version, case.applicant_name, case.state, option.target, at)
        )
    return report


def apply_import(
    engine: Engine, rows: Sequence[Row], *, program: str, event: str, field_name: str, actor: Actor
) -> ImportReport:
    """Plan again, then fire ``event`` on each movable case with ``{field_name: instant}``, one command each."""
    report = plan_import(engine, rows, program=program, event=event, actor=actor)
    for move in report.moves:
        instant = move.at.astimezone(SHANGHAI).isoformat()
        try:
            engine.fire(
                move.case_id,
                event,
                actor=actor,
                payload={field_name: instant},
                expected_version=move.version,
                idempotency_key=f"import:{report.program}:{event}:{move.case_id}:{instant}"[:255],
            )
        except FilingFlowError as exc:  # changed since planning (a race, a rule): this case only
            report.refused.append(Refused(move.line, move.code, f"case {move.case_id}: {exc}"))
            continue
        report.moved.append(move.case_id)
    report.refused.sort(key=lambda r: r.line)
    return report


def _local(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _state_label(process: Any, state: str) -> str:
    label = process.states[state].label if state in process.states else state
    return f"{label}（{state}）"


def describe(report: ImportReport, *, applied: bool) -> list[str]:
    """The report as staff read it: the moves, then the refused rows with their reasons."""
    moved = set(report.moved)
    lines = []
    for m in report.moves:
        if applied and m.case_id not in moved:
            continue
        verb = "moved" if applied else "would move"
        lines.append(
            f"line {m.line}: {m.code} {m.applicant_name}: {verb} case {m.case_id} "
            f"{m.from_state} -> {m.to_state}, SMS sent {_local(m.at)}"
        )
    lines.extend(f"line {r.line}: {r.code or '(no code)'}: refused: {r.reason}" for r in report.refused)
    count = len(report.moved) if applied else len(report.moves)
    lines.append(
        f"{'moved' if applied else 'would move'} {count} cases of {report.program} by {report.event}; "
        f"{len(report.refused)} rows refused"
    )
    return lines
