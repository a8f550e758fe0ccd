"""Storage faults at fixed rates and a fixed seed: every command commits whole or not at all.

The database driver is made to fail some statements (a third party we cannot break on
demand, so its failures are injected at its boundary; none of our code is replaced). Each
command then either succeeds or raises a clear engine error, and a failed command leaves
no trace: the case keeps its version, and the whole database still satisfies every
invariant (one audit event per change, chains and replays verify, one running paper
deadline per case awaiting paper).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.faults import failing_statements
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import FilingFlowError, StorageUnavailable

STEPS = [
    ("submit", PLATFORM, {}),
    ("return_for_correction", STAFF, {"reason": "请补充材料"}),
    ("resubmit", PLATFORM, {}),
    ("pass_online_review", STAFF, {}),
    ("file_on_portal", PLATFORM, {}),
    ("approve_on_portal", STAFF, {}),
    ("receive_paper", STAFF, {"service_window": 2}),
]


@pytest.mark.parametrize("seed", [7, 2025])
def test_no_half_written_case_under_storage_faults(
    engine: Engine, clock: ManualClock, audit_key: bytes, seed: int
) -> None:
    ids = [engine.open_case(PROGRAM, applicant=applicant(n), data=complete_data(), actor=PLATFORM).id for n in range(6)]
    progress = dict.fromkeys(ids, 0)
    outcomes = {"ok": 0, "storage": 0}
    with failing_statements(engine, rate=0.15, seed=seed) as failed:
        for _ in range(60):
            for case_id in ids:
                if progress[case_id] == len(STEPS):
                    continue
                name, actor, payload = STEPS[progress[case_id]]
                before = engine.get_case(case_id).version
                try:
                    engine.fire(case_id, name, actor=actor, payload=payload, expected_version=before)
                except StorageUnavailable as exc:
                    outcomes["storage"] += 1
                    assert (exc.case_id, exc.event) == (case_id, name)  # noqa: PT017 - the error names the command
                    assert engine.get_case(case_id).version == before, "a failed command leaves no trace"
                    continue
                except FilingFlowError as exc:  # anything else would be a bug in the engine
                    pytest.fail(f"{name} on case {case_id}: {exc!r}")
                outcomes["ok"] += 1
                progress[case_id] += 1
            clock.advance(timedelta(minutes=5))
    assert failed, "faults were injected"
    assert outcomes["storage"] > 0
    assert set(progress.values()) == {len(STEPS)}, "every case got through once the faults passed"
    with engine.database.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    assert_invariants(engine, audit_key)


def test_a_connection_the_server_dropped_never_reaches_a_command(
    engine: Engine, database_url: str, backend: str, audit_key: bytes
) -> None:
    # the pool checks a connection before lending it: a server restart or a killed backend costs no command
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    if backend == "postgresql":
        killer = sa.create_engine(database_url)
        with killer.connect() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        killer.dispose()
        assert killed >= 1, "the engine's pooled connection was killed"
    assert engine.fire(case_id, "submit", actor=PLATFORM).state == "online_review"
    assert_invariants(engine, audit_key)
