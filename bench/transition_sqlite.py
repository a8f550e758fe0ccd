"""One persisted Longgang transition on SQLite through the engine, against raw sqlite3 doing the same writes.

Fair by construction: the engine and the raw loop write to ONE database file, migrated by
the engine's own Alembic scripts (foreign keys, unique and partial indexes), through
connections with the same settings (WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``, foreign
keys on; see workflow/database.py), interleaved step by step so a busy neighbour on the
machine slows both alike. Each works on its own submitted cases and walks them from online
review to funded (:data:`WALK`): ten commands, two of which open a deadline (with its
reminder schedule) and two close one, all but one queueing outbox notices, and a webhook
subscription that gets a row for every change. The raw loop reads the case and its open
deadlines, updates the case with a version check, inserts the audit event (with its HMAC),
closes and opens deadline rows and inserts the notices, then commits; at the end both case
sets must hold the same numbers of audit, notice and deadline rows, or the run fails.

Measured with 1,000 and 100,000 cases in the database, each finished case carrying the
history the walk leaves (12 audit events, 21 notices, 3 closed deadlines), to show the
per-command cost does not grow with the data. Beside wall time, the CPU time of each side
(``time.process_time``: user + system of this process, SQLite included, the fsync wait not),
so a figure can be compared across machines whose disks differ.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from workflow.audit import HASHED_FIELDS
from workflow.clock import ManualClock
from workflow.database import SQLITE_PRAGMAS
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.process import CompiledProcess
from workflow.tables import UTCDateTime, audit_events, cases, deadlines, notices, webhook_subscriptions
from workflow.writes import NOTICE_COLUMNS

NOW = sh("2025-08-20 09:00")
AFTER_WINDOW = sh("2025-09-15 09:00")
"""Publicity starts only after the filing period has ended (LG-FLOW-6: the window closes 2025-09-13)."""
AUDIT_KEY = "bench"
WALK: tuple[tuple[str, Actor, dict[str, Any]], ...] = (
    ("return_for_correction", STAFF, {"reason": "请补充审计报告"}),
    ("resubmit", PLATFORM, {}),
    ("pass_online_review", STAFF, {}),
    ("file_on_portal", PLATFORM, {}),
    ("approve_on_portal", STAFF, {}),  # opens the paper deadline (5 working days, two reminder rungs)
    ("receive_paper", STAFF, {"service_window": 3}),  # closes it as met
    ("start_publicity", STAFF, {}),  # opens the publicity period
    ("raise_objection", PLATFORM, {"reason": "公示异议"}),  # closes it as cancelled; staff email only
    ("resolve_objection", STAFF, {"reason": "异议不成立"}),  # no notice at all
    ("fund", STAFF, {}),  # final: live key released
)
STEP_AT = tuple(NOW if index < 6 else AFTER_WINDOW for index in range(len(WALK)))
"""The clock at each step of :data:`WALK`: review and paper in the window, publicity and funding after it."""
HISTORY = {"audit": 12, "notices": 21, "deadlines": 3}
"""What one case walked from draft to funded leaves behind, seeded for every background case."""


# ---- the database every run starts from -------------------------------------------------


def seed_history(database: sa.Engine, count: int) -> None:
    """``count`` funded cases with their history (:data:`HISTORY`), in a few INSERT ... SELECTs."""
    if count <= 0:
        return
    numbers = sa.select(sa.literal_column("1").label("i")).cte("numbers", recursive=True)
    numbers = numbers.union_all(sa.select(numbers.c.i + 1).where(numbers.c.i < sa.literal_column(str(count))))
    number = sa.cast(numbers.c.i, sa.String)
    at = sa.literal(NOW, UTCDateTime)
    bulk = cases.c.applicant_code.like("BULK%")
    with database.begin() as conn:
        conn.execute(
            sa.insert(cases).from_select(
                [
                    "program_key",
                    "program_version",
                    "state",
                    "final",
                    "version",
                    "applicant_name",
                    "applicant_code",
                    "applicant_email",
                    "applicant_phone",
                    "data",
                    "amount_fen",
                    "chain_head",
                    "created_at",
                    "updated_at",
                    "submitted_at",
                ],
                sa.select(
                    sa.literal(PROGRAM),
                    sa.literal(1),
                    sa.literal("funded"),
                    sa.literal(True),
                    sa.literal(HISTORY["audit"]),
                    sa.literal("bulk ") + number,
                    sa.literal("BULK") + number,
                    sa.literal("bulk@example.cn"),
                    sa.literal("13900000000"),
                    sa.literal(complete_data(), sa.JSON),
                    sa.literal(50_000_000),
                    sa.literal("f" * 64),
                    at,
                    at,
                    at,
                ).select_from(numbers),
            )
        )
        for seq in range(1, HISTORY["audit"] + 1):
            conn.execute(
                sa.insert(audit_events).from_select(
                    [*HASHED_FIELDS, "prev_hash", "hash"],
                    sa.select(
                        cases.c.id,
                        sa.literal(seq),
                        at,
                        sa.literal("transition"),
                        sa.literal("reviewer-zhang"),
                        sa.literal("staff"),
                        sa.literal("bench"),
                        sa.literal("pass_online_review"),
                        sa.literal("online_review"),
                        sa.literal("online_approved"),
                        sa.literal(None, sa.String),
                        sa.literal({"state": "online_review"}, sa.JSON),
                        sa.literal(
                            {"state": "online_approved", "notices": ["passed_online_review/sms", "x/email"]}, sa.JSON
                        ),
                        sa.literal("e" * 64),
                        sa.literal("f" * 64),
                    ).where(bulk),
                )
            )
        for serial in range(1, HISTORY["notices"] + 1):
            conn.execute(
                sa.insert(notices).from_select(
                    [*NOTICE_COLUMNS, "sent_at"],
                    sa.select(
                        cases.c.id,
                        sa.literal("passed_online_review"),
                        sa.literal("sms"),
                        sa.literal("13900000000"),
                        sa.literal("bulk/") + sa.cast(cases.c.id, sa.String) + sa.literal(f"/{serial}"),
                        sa.literal({"case_id": 0, "state": "online_approved", "event": "pass_online_review"}, sa.JSON),
                        sa.literal("sent"),
                        sa.literal(1),
                        at,
                        at,
                        at,
                    ).where(bulk),
                )
            )
        for key in ("online_window", "paper_delivery", "publicity_period"):
            conn.execute(
                sa.insert(deadlines).from_select(
                    [
                        "case_id",
                        "key",
                        "rule",
                        "label",
                        "state",
                        "on_expiry",
                        "working_days",
                        "started_at",
                        "ledger",
                        "due_at",
                        "estimated",
                        "status",
                        "closed_at",
                        "next_rung",
                    ],
                    sa.select(
                        cases.c.id,
                        sa.literal(key),
                        sa.literal("LG-DL-1"),
                        sa.literal("书面材料递交期限"),
                        sa.literal("awaiting_paper"),
                        sa.literal("miss_paper_deadline"),
                        sa.literal(5),
                        at,
                        sa.literal([], sa.JSON),
                        sa.literal(NOW - timedelta(days=30), UTCDateTime),
                        sa.literal(False),
                        sa.literal("met"),
                        at,
                        sa.literal(2),
                    ).where(bulk),
                )
            )


def prepare(database_url: str, *, background: int, sets: Sequence[int]) -> tuple[Engine, list[list[int]]]:
    """Migrate, seed ``background`` finished cases, subscribe one webhook, and open+submit the work sets.

    Returns the engine and, for each size in ``sets``, its case ids, interleaved in id order
    so no set sits in a warmer part of the tables than another.
    """
    engine = bootstrap(Settings(database_url=database_url, audit_key=AUDIT_KEY), clock=ManualClock(NOW), migrate=True)
    seed_history(engine.database, background)
    with engine.database.begin() as conn:
        conn.execute(
            sa.insert(webhook_subscriptions).values(
                url="https://platform.example.cn/hooks/filingflow",
                secret="s" * 32,
                events=[],
                active=True,
                created_by="bench",
                created_at=NOW,
            )
        )
    out: list[list[int]] = [[] for _ in sets]
    serial = 0
    for index in range(max(sets)):
        for set_index, size in enumerate(sets):
            if index >= size:
                continue
            serial += 1
            case = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM)
            engine.fire(case.id, "submit", actor=PLATFORM)
            out[set_index].append(case.id)
    return engine, out


def fire_step(engine: Engine, case_id: int, step: int) -> None:
    """Step ``step`` of :data:`WALK` on one case, at the step's time (:data:`STEP_AT`; the clock is a ManualClock)."""
    set_clock(engine, step)
    fire_only(engine, case_id, step)


def set_clock(engine: Engine, step: int) -> None:
    """The clock at step ``step`` of :data:`WALK`: the harness's part, outside the timed command
    (the raw loop's instants are computed before the run, see :class:`RawWriter`)."""
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.set(STEP_AT[step])


def fire_only(engine: Engine, case_id: int, step: int) -> None:
    """The command of step ``step`` of :data:`WALK`, the clock already set (:func:`set_clock`)."""
    name, actor, payload = WALK[step]
    engine.fire(case_id, name, actor=actor, payload=dict(payload))


# ---- the raw baseline -----------------------------------------------------------------

_CASE_COLUMNS = ", ".join(c.name for c in cases.columns)
_DEADLINE_COLUMNS = ", ".join(c.name for c in deadlines.columns)


@dataclass(frozen=True, slots=True)
class RawStep:
    """The writes one step of :data:`WALK` makes, derived from the process definition."""

    event: str
    actor: Actor
    from_state: str
    to_state: str
    final: bool
    reason: str | None
    close_status: str
    opens: tuple[tuple[str, str, str, str, int | None], ...]  # key, rule, label, on_expiry, working days
    notices: tuple[tuple[str, str, str], ...]  # kind, channel, recipient (the webhook row included)
    old_values: str
    new_values: str
    context: str


def raw_steps(process: CompiledProcess) -> list[RawStep]:
    out = []
    state = "online_review"
    for name, actor, payload in WALK:
        event = process.event(name)
        assert state in event.sources, (name, state)
        target = process.state(event.target)
        contacts = {"staff": {"email": "staff"}, "applicant": {"sms": "13900000001", "email": "case1@example.cn"}}
        rows = [
            (rule.kind, channel, contacts[rule.audience][channel])
            for rule in target.notices
            for channel in rule.channels
        ]
        rows.append(("case.changed", "webhook", "1"))
        labels = '","'.join(f"{k}/{c}" for k, c, _ in rows[:-1])
        opens = tuple(
            (key, rule.rule, rule.label, rule.on_expiry, rule.working_days)
            for key in target.opens
            for rule in (process.deadlines[key],)
        )
        met = any(name in process.deadlines[k].met_by for k in process.deadlines)
        out.append(
            RawStep(
                event=name,
                actor=actor,
                from_state=state,
                to_state=target.key,
                final=target.final,
                reason=payload.get("reason"),
                close_status="met" if met else "cancelled",
                opens=opens,
                notices=tuple(rows),
                old_values=f'{{"state":"{state}"}}',
                new_values=f'{{"notices":["{labels}"],"state":"{target.key}"}}',
                context=(
                    f'{{"case_id":0,"program":"{process.key}","applicant_name":"深圳市测试科技1号有限公司",'
                    f'"state":"{target.key}","event":"{name}","reason":null,"deadlines":{{}},"payload":{{}},'
                    '"amount_fen":50000000}'
                ),
            )
        )
        state = target.key
    return out


class RawWriter:
    """Issues exactly the rows the engine writes for a step, with the DB-API driver alone."""

    def __init__(self, process: CompiledProcess, *, mark: str, instant: Callable[[datetime], Any]) -> None:
        self.steps = raw_steps(process)
        self.times = [instant(at) for at in STEP_AT]
        self.due = instant(NOW + timedelta(days=7))
        self.reminder = instant(NOW + timedelta(days=5))
        self.key = AUDIT_KEY.encode()

        def q(sql: str) -> str:
            return sql.replace("?", mark)

        self.load = q(f"SELECT {_CASE_COLUMNS} FROM cases WHERE id = ?")
        self.open_deadlines = q(
            f"SELECT {_DEADLINE_COLUMNS} FROM deadlines WHERE case_id = ? AND status IN ('pending', 'suspended')"
        )
        self.update = q(
            "UPDATE cases SET state = ?, final = ?, version = ?, chain_head = ?, updated_at = ? "
            "WHERE id = ? AND version = ?"
        )
        self.update_final = q(
            "UPDATE cases SET state = ?, final = ?, version = ?, chain_head = ?, updated_at = ?, live_key = NULL "
            "WHERE id = ? AND version = ?"
        )
        self.audit = q(
            "INSERT INTO audit_events (case_id, seq, at, kind, actor, role, via, event, from_state, to_state, "
            "reason, old_values, new_values, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.close = q("UPDATE deadlines SET status = ?, closed_at = ? WHERE id = ?")
        self.open = q(
            "INSERT INTO deadlines (case_id, key, rule, label, state, on_expiry, working_days, fixed_due, "
            "started_at, ledger, due_at, estimated, status, next_rung, next_reminder_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, '[]', ?, ?, 'pending', 0, ?) RETURNING id"
        )
        self.notices = {  # one multi-row INSERT per command, as the engine does
            count: q(
                "INSERT INTO notices (case_id, kind, channel, recipient, idempotency_key, context, status, "
                "attempts, next_attempt_at, created_at) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"] * count)
            )
            for count in {len(step.notices) for step in self.steps}
        }
        version_at = [c.name for c in cases.columns].index("version")
        head_at = [c.name for c in cases.columns].index("chain_head")
        self.version_at, self.head_at = version_at, head_at
        self.state_at = [c.name for c in deadlines.columns].index("state")

    def write(self, cursor: Any, case_id: int, step_index: int) -> None:
        """The statements of one command, inside the caller's transaction."""
        step, now = self.steps[step_index], self.times[step_index]
        row = cursor.execute(self.load, (case_id,)).fetchone()
        version, head = row[self.version_at], row[self.head_at]
        open_rows = cursor.execute(self.open_deadlines, (case_id,)).fetchall()
        seq = version + 1
        body = f"{case_id}|{seq}|{step.event}|{step.new_values}"
        digest = hmac.new(self.key, (head + body).encode(), hashlib.sha256).hexdigest()
        update = self.update_final if step.final else self.update
        cursor.execute(update, (step.to_state, step.final, seq, digest, now, case_id, version))
        assert cursor.rowcount == 1
        actor = step.actor
        cursor.execute(
            self.audit,
            (
                case_id,
                seq,
                now,
                "transition",
                actor.name,
                actor.role,
                actor.via,
                step.event,
                step.from_state,
                step.to_state,
                step.reason,
                step.old_values,
                step.new_values,
                head,
                digest,
            ),
        )
        for deadline in open_rows:
            if deadline[self.state_at] == step.from_state:
                cursor.execute(self.close, (step.close_status, now, deadline[0]))
        for key, rule, label, on_expiry, working_days in step.opens:
            cursor.execute(
                self.open,
                (
                    case_id,
                    key,
                    rule,
                    label,
                    step.to_state,
                    on_expiry,
                    working_days,
                    now,
                    self.due,
                    False,
                    self.reminder,
                ),
            ).fetchone()
        prefix, now2 = f"case/{case_id}/v{seq}", (now, now)
        cursor.execute(
            self.notices[len(step.notices)],
            [
                value
                for kind, channel, recipient in step.notices
                for value in (case_id, kind, channel, recipient, f"{prefix}/{kind}/{channel}", step.context, *now2)
            ],
        )


def sqlite_instant(value: datetime) -> str:
    """How SQLAlchemy stores an instant in SQLite: naive UTC text with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def written_rows(database: sa.Engine, ids: Sequence[int]) -> dict[str, int]:
    """Rows a case set holds, to prove the engine and the raw loop wrote the same."""
    with database.connect() as conn:
        count = {
            name: conn.execute(sa.select(sa.func.count()).where(table.c.case_id.in_(ids))).scalar_one()
            for name, table in (("audit", audit_events), ("notices", notices), ("deadlines", deadlines))
        }
        count["versions"] = conn.execute(sa.select(sa.func.sum(cases.c.version)).where(cases.c.id.in_(ids))).scalar()
        count["funded"] = conn.execute(
            sa.select(sa.func.count()).where(cases.c.id.in_(ids), cases.c.state == "funded", cases.c.live_key.is_(None))
        ).scalar_one()
        for status in ("pending", "met", "cancelled"):
            count[f"deadlines_{status}"] = conn.execute(
                sa.select(sa.func.count()).where(deadlines.c.case_id.in_(ids), deadlines.c.status == status)
            ).scalar_one()
    return count


# ---- the run ----------------------------------------------------------------------------


def _measure(folder: Path, size: int, walkers: int) -> dict[str, Any]:
    path = folder / "bench.db"
    engine, (engine_ids, raw_ids) = prepare(f"sqlite:///{path}", background=size - 2 * walkers, sets=(walkers,) * 2)
    raw = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        raw.execute(pragma)
    writer = RawWriter(engine.programs.get(PROGRAM), mark="?", instant=sqlite_instant)
    engine_ms: list[float] = []
    raw_ms: list[float] = []
    engine_cpu = raw_cpu = 0.0  # process CPU (user + system): SQLite runs in-process, so its work counts too
    for step in range(len(WALK)):
        for engine_id, raw_id in zip(engine_ids, raw_ids, strict=True):
            set_clock(engine, step)
            started, cpu_started = time.perf_counter(), time.process_time()
            fire_only(engine, engine_id, step)
            middle, cpu_middle = time.perf_counter(), time.process_time()
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            writer.write(cursor, raw_id, step)
            cursor.execute("COMMIT")
            cursor.close()
            ended, cpu_ended = time.perf_counter(), time.process_time()
            engine_ms.append((middle - started) * 1000)
            raw_ms.append((ended - middle) * 1000)
            engine_cpu += cpu_middle - cpu_started
            raw_cpu += cpu_ended - cpu_middle
    raw.close()
    engine_rows, raw_rows = written_rows(engine.database, engine_ids), written_rows(engine.database, raw_ids)
    engine.database.dispose()
    if engine_rows != raw_rows:
        raise AssertionError(f"raw loop wrote {raw_rows}, the engine {engine_rows}: not the same writes")
    engine_median, raw_median = statistics.median(engine_ms), statistics.median(raw_ms)
    return {
        "commands": len(engine_ms),
        "rows_per_case_set": engine_rows,
        "engine_median_ms": round(engine_median, 3),
        "engine_p95_ms": round(statistics.quantiles(engine_ms, n=20)[18], 3),
        "engine_mean_ms": round(statistics.fmean(engine_ms), 3),
        "raw_median_ms": round(raw_median, 3),
        "raw_p95_ms": round(statistics.quantiles(raw_ms, n=20)[18], 3),
        "raw_mean_ms": round(statistics.fmean(raw_ms), 3),
        "ratio": round(engine_median / raw_median, 2),
        "ratio_of_means": round(statistics.fmean(engine_ms) / statistics.fmean(raw_ms), 2),
        "engine_cpu_ms": round(engine_cpu * 1000 / len(engine_ms), 3),
        "raw_cpu_ms": round(raw_cpu * 1000 / len(raw_ms), 3),
        "cpu_ratio": round(engine_cpu / raw_cpu, 2),
    }


def run(quick: bool) -> dict[str, Any]:
    walkers = 30 if quick else 100  # cases per side; each walks len(WALK) commands
    sizes = (1_000,) if quick else (1_000, 100_000)
    results: dict[str, Any] = {
        "synchronous": "FULL",
        "journal": "WAL",
        "walk": [name for name, _, _ in WALK],
        "history_per_background_case": HISTORY,
        "sizes": {},
    }
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results["sizes"][str(size)] = _measure(Path(tmp), size, walkers)
    return results
