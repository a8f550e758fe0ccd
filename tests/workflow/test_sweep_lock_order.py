"""Commands racing the deadline sweep on PostgreSQL: one lock order, so no deadlock and no 503 (issue 13 item 6).

Commands update ``cases`` then ``deadlines``; the sweep used to lock the deadline row first
(``FOR UPDATE``) and then update ``cases``: with withdrawals racing a sweep expiring the same
drafts, PostgreSQL found deadlocks and the loser surfaced as a 503. The sweep now claims the
case row together with the deadline, skipping both when either is held, so it never waits
while holding a lock a command needs: a lost race is a 409 (``ConflictError``) or success.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.conftest import AUDIT_KEY, PACKAGE_UNTIL
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, awaiting_paper, sh
from tests.support.postgres import PostgresCluster
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import ConflictError, StorageUnavailable, TransitionNotAllowed
from workflow.tables import cases, deadlines

CASES = 200
WITHDRAWERS = 4


def _deadlocks(log: Path) -> int:
    return log.read_text(errors="replace").count("deadlock detected")


def _between_two_locks(engine: Engine, first: sa.Executable, other: threading.Thread, second: sa.Executable) -> None:
    """Run ``first``, start ``other``, wait until it waits for a lock (or ends), run ``second``, roll back."""
    with engine.database.connect() as conn, conn.begin():
        conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
        conn.execute(first)
        other.start()
        for _ in range(300):
            waiting = conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one()
            if waiting or not other.is_alive():
                break
            time.sleep(0.01)
        conn.execute(second)
        conn.rollback()


def _as_a_command(engine: Engine, case_id: int, other: threading.Thread) -> None:
    """Update the case row as a command does, let ``other`` meet it, then close the case's deadlines."""
    _between_two_locks(
        engine,
        sa.update(cases).where(cases.c.id == case_id).values(version=cases.c.version),
        other,
        sa.update(deadlines).where(deadlines.c.case_id == case_id).values(status=deadlines.c.status),
    )


def test_withdrawals_racing_the_sweep_never_deadlock(
    engine: Engine, clock: ManualClock, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no row locks to order")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    log = cluster.root / "server.log"
    ids = [engine.open_case(PROGRAM, applicant=applicant(n), data={}, actor=PLATFORM).id for n in range(1, CASES + 1)]
    clock.set(sh("2025-09-14 00:00:05"))  # LG-WIN-1 closed: every draft's window deadline is due
    before = _deadlocks(log)
    sweeper = bootstrap(
        Settings(
            database_url=str(engine.database.url.render_as_string(hide_password=False)),
            audit_key=AUDIT_KEY,
            calendar_package_until=PACKAGE_UNTIL,
        ),
        clock=clock,
        migrate=False,
    )
    outcomes: dict[str, int] = {"ok": 0, "409": 0, "503": 0}
    lock, start = threading.Lock(), threading.Barrier(WITHDRAWERS + 1)

    def withdraw(part: list[int]) -> None:
        start.wait()
        for case_id in part:
            try:
                engine.fire(case_id, "withdraw", actor=PLATFORM, payload={"reason": "racing the sweep"})
                outcome = "ok"
            except (ConflictError, TransitionNotAllowed):
                outcome = "409"
            except StorageUnavailable:
                outcome = "503"
            with lock:
                outcomes[outcome] += 1

    expired: list[tuple[int, str]] = []

    def sweep() -> None:
        start.wait()
        expired.extend(sweeper.expire_due())

    # every withdrawer tries every case, from the newest (the sweep goes oldest first), so they meet mid-way
    orders = [ids[::-1][i * CASES // WITHDRAWERS :] + ids[::-1][: i * CASES // WITHDRAWERS] for i in range(WITHDRAWERS)]
    threads = [threading.Thread(target=withdraw, args=(order,)) for order in orders]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    expired.extend(sweeper.expire_due())  # what a skipped claim left comes next sweep
    sweeper.database.dispose()
    assert outcomes["503"] == 0, outcomes
    assert _deadlocks(log) == before, "PostgreSQL logged a deadlock"
    assert outcomes["ok"] + len(expired) == CASES, (outcomes, len(expired))
    assert outcomes["409"] == CASES * (WITHDRAWERS - 1) + len(expired), "each other attempt lost the race"
    states = {engine.get_case(case_id).state for case_id in ids}
    assert states <= {"withdrawn", "abandoned"}, states


def test_a_sweep_meeting_a_command_between_its_case_and_deadline_writes_steps_aside(
    engine: Engine, clock: ManualClock, backend: str, request: pytest.FixtureRequest
) -> None:
    """The storm's race made certain: a command holds its case row, the sweep comes, the command closes the deadline."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no row locks to order")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    log = cluster.root / "server.log"
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data={}, actor=PLATFORM).id
    clock.set(sh("2025-09-14 00:00:05"))
    before = _deadlocks(log)
    sweeper = bootstrap(
        Settings(
            database_url=engine.database.url.render_as_string(hide_password=False),
            audit_key=AUDIT_KEY,
            calendar_package_until=PACKAGE_UNTIL,
        ),
        clock=clock,
        migrate=False,
    )
    expired: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            expired.extend(sweeper.expire_due())
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=sweep)
    _as_a_command(engine, case_id, thread)  # the sweep meets it between its case and deadline writes
    thread.join(60)
    sweeper.database.dispose()
    assert not errors, errors
    assert _deadlocks(log) == before, "PostgreSQL logged a deadlock"
    assert expired == [], "the sweep stepped aside for the command"
    assert engine.expire_due() == [(case_id, "online_window")], "the next sweep expires it"


def test_a_staff_extension_meeting_a_command_takes_the_case_first_and_never_deadlocks(
    engine: Engine, clock: ManualClock, backend: str, request: pytest.FixtureRequest
) -> None:
    """Extend, suspend and resume lock the case row before the deadline, as commands and the sweep do."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no row locks to order")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    log = cluster.root / "server.log"
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    before = _deadlocks(log)
    outcome: list[object] = []

    def extend() -> None:
        try:
            outcome.append(
                engine.extend_deadline(case_id, deadline_id, actor=STAFF, reason="typhoon closure", working_days=2)
            )
        except BaseException as exc:  # reported below
            outcome.append(exc)

    thread = threading.Thread(target=extend)
    _as_a_command(engine, case_id, thread)  # with the deadline locked first by extend, this was a deadlock
    thread.join(60)
    assert _deadlocks(log) == before, "PostgreSQL logged a deadlock"
    assert len(outcome) == 1, outcome
    assert not isinstance(outcome[0], BaseException), outcome


def test_the_sweep_steps_aside_from_a_cap_group_a_command_holds(
    engine: Engine, clock: ManualClock, backend: str, request: pytest.FixtureRequest
) -> None:
    """LG-AMT-2's cap group lock: a command takes it before the case rows, the sweep holds rows first.

    So the sweep must not wait for it (a withdrawal holding it waits for the sweep's rows: a deadlock);
    it tries, steps aside, and the next sweep expires the deadline.
    """
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no row locks to order")
    code = applicant(1)["code"]
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data={}, actor=PLATFORM).id
    clock.set(sh("2025-09-14 00:00:05"))  # LG-WIN-1 closed: the draft's window deadline is due
    group = engine.programs.get(PROGRAM).definition.cap_group
    finished = threading.Event()
    expired: list[tuple[int, str]] = []

    def sweep() -> None:
        expired.extend(engine.expire_due())
        finished.set()

    with engine.database.connect() as conn, conn.begin():  # a command in the middle of its allocation
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"cap:{group}:{code}"})
        thread = threading.Thread(target=sweep)
        thread.start()
        stepped_aside = finished.wait(10)
        conn.rollback()
    thread.join(60)
    assert stepped_aside, "the sweep waited for the cap group's lock while holding its rows"
    assert expired == []
    assert engine.expire_due() == [(case_id, "online_window")]  # the next sweep, the lock free again


def test_reminders_step_aside_from_a_case_a_staff_command_holds(
    engine: Engine, clock: ManualClock, backend: str, request: pytest.FixtureRequest
) -> None:
    """LG-DL-1's reminder ladder racing a staff extension: the extension locks the case row, then the deadline.

    The reminder pass used to claim the deadline alone and then insert its notices, whose foreign key
    waits for the case row: holding the deadline, waiting for the case, against a command holding the
    case and waiting for the deadline. It now claims both or neither, and sends on the next tick.
    """
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no row locks to order")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    log = cluster.root / "server.log"
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    (deadline,) = engine.get_case(case_id).deadlines
    assert deadline.due_at is not None
    clock.set(deadline.due_at - timedelta(hours=2))  # the last day: its rung is due
    before = _deadlocks(log)
    outcome: list[object] = []

    def remind() -> None:
        try:
            outcome.append(engine.send_due_reminders())
        except BaseException as exc:  # reported below
            outcome.append(exc)

    thread = threading.Thread(target=remind)
    _between_two_locks(  # a staff extension: the case row, then its deadline
        engine,
        sa.select(cases.c.id).where(cases.c.id == case_id).with_for_update(),
        thread,
        sa.select(deadlines.c.id).where(deadlines.c.id == deadline_id).with_for_update(),
    )
    thread.join(60)
    assert _deadlocks(log) == before, "PostgreSQL logged a deadlock"
    assert outcome == [0], "the reminder pass stepped aside for the command"
    assert engine.send_due_reminders() == 1, "the next tick sends the rung"
