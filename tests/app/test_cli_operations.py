"""The staff and operator commands, run as the real console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import run
from tests.conftest import PACKAGE_UNTIL
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
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
    assert (bad.returncode, bad.stderr.strip()) == (2, "error: '2027-02-30' is not a date (YYYY-MM-DD) [field=DATE]")


def test_programs_migrate_cases_advance_and_notifications(engine: Engine, database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    same = run("programs", "migrate", PROGRAM, "--from", "1", "--to", "1", "--actor", "li", "--reason", "x", env=env)
    assert same.returncode == 2
    assert "same" in same.stderr
    unknown = run("programs", "migrate", PROGRAM, "--from", "1", "--to", "2", "--actor", "li", "--reason", "x", env=env)
    assert (unknown.returncode, "version 2" in unknown.stderr) == (2, True)
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
