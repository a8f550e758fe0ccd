"""The staff and operator commands, run as the real console script."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from tests.app.test_cli import run
from tests.conftest import PACKAGE_UNTIL
from tests.support.invariants import assert_invariants
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.shenzhen import PROGRAM as VOUCHER
from tests.support.shenzhen import voucher_data
from workflow.clock import ManualClock
from workflow.engine import Engine


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "FILINGFLOW_DATABASE_URL": database_url,
        "FILINGFLOW_AUDIT_KEY": "test-audit-key",
        "FILINGFLOW_VAR_DIR": str(tmp_path / "var"),
        "FILINGFLOW_CALENDAR_PACKAGE_UNTIL": str(PACKAGE_UNTIL),
    }


def test_calendar_questions_and_changes(engine: Engine, clock: ManualClock, database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    answer = run("calendar", "is-working-day", "2025-09-28", env=env)
    assert answer.stdout.strip() == "2025-09-28 is a working day: make-up working day for National Day"
    walk = run("calendar", "add-working-days", "2025-09-26", "5", env=env).stdout.splitlines()
    assert walk[-1] == "2025-10-10"
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    clock.set(sh("2026-12-28 10:00"))
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="补录")
    arrangement = tmp_path / "2027.json"
    arrangement.write_text(
        json.dumps({"year": 2027, "holidays": {"2027-01-01": "New Year's Day", "2027-01-04": "New Year's Day"}})
    )
    loaded = run("calendar", "load", str(arrangement), "--actor", "li", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 2027: 2 holidays, 0 make-up working days; 1 deadlines recomputed" in loaded.stdout
    explained = run("deadlines", "explain", str(case_id), env=env).stdout
    assert "paper_delivery (LG-DL-1" in explained
    assert "2027-01-04 New Year's Day holiday" in explained
    closed = run("calendar", "override", "2027-01-05", "--closed", "--actor", "li", "--reason", "台风", env=env)
    assert "1 deadlines recomputed" in closed.stdout
    bad = run("calendar", "is-working-day", "2027-02-30", env=env)
    assert (bad.returncode, bad.stderr.strip()) == (1, "error: '2027-02-30' is not a date (YYYY-MM-DD) [field=DATE]")


def test_programs_migrate_cases_advance_and_notifications(engine: Engine, database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    same = run("programs", "migrate", PROGRAM, "--from", "1", "--to", "1", "--actor", "li", "--reason", "x", env=env)
    assert same.returncode == 1
    assert "same" in same.stderr
    unknown = run("programs", "migrate", PROGRAM, "--from", "1", "--to", "2", "--actor", "li", "--reason", "x", env=env)
    assert (unknown.returncode, "version 2" in unknown.stderr) == (1, True)
    for serial in (1, 2):
        case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
        engine.fire(case_id, "submit", actor=PLATFORM)
    advanced = run("cases", "advance", PROGRAM, "pass_online_review", "--count", "1", "--actor", "li", env=env)
    assert advanced.stdout.strip() == "advanced 1 cases: 1"
    sent = run("notifications", "dispatch", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "dispatch: 8 claimed, 8 sent" in sent.stdout
    assert (tmp_path / "var" / "sms.log").read_text(encoding="utf-8").count("\n") == 3
    listed = run("notifications", "list", "--status", "sent", env=env).stdout
    assert "submission_received/sms to 13900000001 sent after 1 attempt(s)" in listed
    assert run("notifications", "retry", "1", env=env).returncode == 1, "only dead notices are retried"


def test_programs_migrate_moves_open_cases_to_a_registered_version(
    engine: Engine, database_url: str, tmp_path: Path, audit_key: bytes
) -> None:
    # A platform registers v2 of the round through FILINGFLOW_PROGRAMS; open v1 cases move by an explicit map
    case_id = engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    engine.override(case_id, "objection_review", actor=STAFF, reason="公示期收到异议")  # v2 drops this stage
    env = {
        **_env(database_url, tmp_path),
        "FILINGFLOW_PROGRAMS": "tests.support.catalogs:longgang_v2",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    listed = run("programs", "list", env=env).stdout
    assert f"{PROGRAM}  v2" in listed
    migrate = ("programs", "migrate", PROGRAM, "--from", "1", "--to", "2", "--actor", "li", "--reason", "v2")
    stranded = run(*migrate, env=env)
    assert (stranded.returncode, "objection_review" in stranded.stderr) == (1, True)
    assert "field=mapping.objection_review" in stranded.stderr
    unknown = run(*migrate, "--map", "objection_review=limbo", env=env)
    assert (unknown.returncode, "v2 has no state 'limbo'" in unknown.stderr) == (1, True)
    dry = run(*migrate, "--map", "objection_review=awaiting_decision", "--dry-run", env=env)
    assert dry.stdout.splitlines() == [
        f"case {case_id}: objection_review -> awaiting_decision",
        f"would move 1 open cases of {PROGRAM} from v1 to v2",
    ]
    assert engine.get_case(case_id).program_version == 1
    moved = run(*migrate, "--map", "objection_review=awaiting_decision", env=env)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines()[-1] == f"moved 1 open cases of {PROGRAM} from v1 to v2"
    last = engine.history(case_id)[-1]
    assert (last.kind, last.actor, last.via, last.reason) == ("migration", "li", "cli", "v2")
    assert_invariants(engine, audit_key)
    bad = run("programs", "list", env={**env, "FILINGFLOW_PROGRAMS": "tests.support.catalogs:nothing"})
    assert (bad.returncode, "FILINGFLOW_PROGRAMS" in bad.stderr) == (1, True)


def test_cases_advance_goes_in_submission_order_and_says_where_it_stopped(
    engine: Engine, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    # SZ-FLOW-3 from the command line: the next N in submission order; a refusal stops the batch (exit 1)
    env = _env(database_url, tmp_path)
    clock.set(sh("2024-11-25 10:00"))
    ids = []
    for serial in (1, 2, 3):
        ids.append(engine.open_case(VOUCHER, applicant=applicant(serial), data=voucher_data(), actor=PLATFORM).id)
        engine.fire(ids[-1], "submit", actor=PLATFORM)
        clock.advance(timedelta(minutes=5))
    engine.fire(ids[1], "withdraw", actor=PLATFORM)  # the second leaves the queue; order is kept for the rest
    advanced = run("cases", "advance", VOUCHER, "accept", "--count", "5", "--actor", "li", env=env)
    assert (advanced.returncode, advanced.stdout.strip()) == (0, f"advanced 2 cases: {ids[0]}, {ids[2]}")
    assert [engine.get_case(i).state for i in ids] == ["preliminary_review", "withdrawn", "preliminary_review"]
    engine.fire(ids[0], "return_for_correction", actor=STAFF, payload={"reason": "合同页不清晰"})
    stopped = run("cases", "advance", VOUCHER, "return_for_correction", "--count", "1", "--actor", "li", env=env)
    assert stopped.returncode == 1
    assert f"stopped at case {ids[2]}" in stopped.stdout + stopped.stderr
