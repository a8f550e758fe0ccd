"""LG-LIST-1, SZ-LIST-1: an official-list entry dated to start later flags the open cases on its start day.

Adding an entry valid today flags the applicant's open cases at once; one dated to start later
is flagged by the worker's tick once its start day (Asia/Shanghai) has come by the injected clock,
exactly once per (entry, case): two worker processes at once, a restarted worker, and a second
tick flag nothing more. Both databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import Settings
from scheduler.jobs import deadline_pass
from tests.conftest import AUDIT_KEY
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh, uscc
from workflow import schema
from workflow.clock import ManualClock
from workflow.database import create_database_engine
from workflow.engine import Engine
from workflow.listings import FLAGGED, Listings
from workflow.tables import UTCDateTime, audit_events, listings, notices

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


def entry(serial: int = 1, since: str = "2025-08-25", until: str | None = None) -> dict[str, Any]:
    return {
        "list": "serious_dishonesty",
        "credit_code": uscc(serial),
        "since": since,
        "until": until,
        "source": "信用中国 2025-08 批次",
        "note": "",
    }


def _open(engine: Engine, serial: int) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id


def _flags(engine: Engine) -> Counter[int]:
    """``listing.flagged`` audit events per case."""
    with engine.database.connect() as conn:
        rows = conn.execute(sa.select(audit_events.c.case_id).where(audit_events.c.event == FLAGGED)).scalars()
        return Counter(rows)


def _staff_notices(engine: Engine) -> Counter[int]:
    with engine.database.connect() as conn:
        rows = conn.execute(sa.select(notices.c.case_id).where(notices.c.kind == "applicant_listed")).scalars()
        return Counter(rows)


def test_lg_list_1_an_entry_flags_the_open_case_when_its_start_day_arrives(
    engine: Engine, clock: ManualClock, audit_key: bytes
) -> None:
    case_id = _open(engine, 1)
    _, flagged = Listings(engine).add(entry(since="2025-08-25"), actor=STAFF, reason="信用中国公示")
    assert flagged == [], "not valid yet: nothing flagged when added"
    clock.set(sh("2025-08-24 23:59"))
    assert deadline_pass(engine, "test-worker").flagged == 0
    version = engine.get_case(case_id).version
    clock.set(sh("2025-08-25 00:00"))  # the start day, Asia/Shanghai
    assert deadline_pass(engine, "test-worker").flagged == 1
    case = engine.get_case(case_id)
    assert (case.state, case.version) == ("online_review", version + 1), "flagged, not moved"
    last = engine.history(case_id)[-1]
    assert (last.kind, last.event, last.actor, last.via) == ("listing", FLAGGED, "filingflow", "scheduler")
    assert "since 2025-08-25 (LG-LIST-1)" in (last.reason or "")
    assert _staff_notices(engine) == Counter({case_id: 1})
    clock.set(sh("2025-08-26 09:00"))
    assert deadline_pass(engine, "test-worker").flagged == 0, "once per (entry, case)"
    assert _flags(engine) == Counter({case_id: 1})
    assert_invariants(engine, audit_key)  # the trail verifies, version = audit events


def test_a_restarted_worker_flags_nothing_twice(
    engine: Engine, clock: ManualClock, settings: Settings, audit_key: bytes
) -> None:
    case_id = _open(engine, 1)
    Listings(engine).add(entry(since="2025-08-22"), actor=STAFF, reason="信用中国公示")
    clock.set(sh("2025-08-23 10:00"))  # a worker that was down on the start day catches up
    assert deadline_pass(engine, "worker-1").flagged == 1
    restarted = bootstrap(settings, clock=ManualClock(sh("2025-08-23 10:05")))
    try:
        assert deadline_pass(restarted, "worker-1").flagged == 0
    finally:
        restarted.database.dispose()
    assert _flags(engine) == Counter({case_id: 1})


def test_sz_list_1_the_entry_flags_only_open_cases_of_programs_that_check_its_list(
    engine: Engine, clock: ManualClock
) -> None:
    kept = _open(engine, 1)
    finished = _open(engine, 2)
    engine.fire(finished, "withdraw", actor=PLATFORM, payload={"reason": "不再申报"})
    listed = Listings(engine)
    listed.add(entry(1), actor=STAFF, reason="公示")
    listed.add(entry(2), actor=STAFF, reason="公示")
    listed.add({**entry(1), "list": "overdue_acceptance"}, actor=STAFF, reason="公示")  # a list Longgang ignores
    clock.set(sh("2025-08-25 08:00"))
    assert deadline_pass(engine, "test-worker").flagged == 1
    assert _flags(engine) == Counter({kept: 1})


def test_an_entry_removed_or_ended_before_the_sweep_flags_nothing(engine: Engine, clock: ManualClock) -> None:
    _open(engine, 1)
    _open(engine, 2)
    listed = Listings(engine)
    removed, _ = listed.add(entry(1), actor=STAFF, reason="公示")
    listed.remove(removed["id"], actor=STAFF, reason="误列，已更正")
    listed.add(entry(2, since="2025-08-22", until="2025-08-23"), actor=STAFF, reason="公示")
    clock.set(sh("2025-08-25 08:00"))  # the worker was down for the whole of the second entry
    assert deadline_pass(engine, "test-worker").flagged == 0
    with engine.database.connect() as conn:
        pending = conn.execute(sa.select(sa.func.count()).where(listings.c.flag_on_start.is_(True))).scalar_one()
    assert pending == 0, "nothing left for a later tick"
    assert _flags(engine) == Counter()


def test_two_worker_processes_flag_each_entry_and_case_exactly_once(engine: Engine, database_url: str) -> None:
    # LG-LIST-1: 30 applicants with an open case, each listed from 2025-08-25; two workers tick at once
    cases = [_open(engine, serial) for serial in range(1, 31)]
    listed = Listings(engine)
    for serial in range(1, 31):
        listed.add(entry(serial), actor=STAFF, reason="信用中国公示")
    env = {
        **os.environ,
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": AUDIT_KEY,
        "FILINGFLOW_SANDBOX": "1",
        "FILINGFLOW_CLOCK_START": "2025-08-25T09:00:00+08:00",
    }
    workers = [
        subprocess.Popen(
            [FILINGFLOW, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=180)
        assert worker.returncode == 0, output
    assert _flags(engine) == Counter(dict.fromkeys(cases, 1))
    assert _staff_notices(engine) == Counter(dict.fromkeys(cases, 1))
    assert_invariants(engine, AUDIT_KEY.encode())


@pytest.mark.parametrize(("since", "marked"), [("2025-08-22", True), ("2025-08-21", False)])
def test_the_migration_marks_entries_added_before_their_start(database_url: str, since: str, marked: bool) -> None:
    database = create_database_engine(database_url)
    try:
        schema.downgrade(database, "0006")
        old = sa.table(
            "listings",
            *(sa.column(name) for name in ("list_key", "applicant_code", "since", "source", "note")),
            *(sa.column(name) for name in ("added_by", "added_reason")),
            sa.column("added_at", UTCDateTime()),
        )
        with database.begin() as conn:
            conn.execute(
                old.insert().values(
                    list_key="serious_dishonesty",
                    applicant_code=uscc(1),
                    since=date.fromisoformat(since),
                    source="信用中国",
                    note="",
                    added_by=STAFF.name,
                    added_reason="公示",
                    added_at=sh("2025-08-21 07:00"),  # the 21st in Asia/Shanghai, still the 20th in UTC
                )
            )
        schema.upgrade(database)
        with database.connect() as conn:
            assert conn.execute(sa.select(listings.c.flag_on_start)).scalar_one() is marked
    finally:
        database.dispose()
