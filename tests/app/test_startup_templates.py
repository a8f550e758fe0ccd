"""Start-up refuses a registered program whose notices lack templates (issue 14 A), naming each one.

A notice without its template would otherwise fail only when delivered, days later, as a dead
notice. Checked for every definition ``bootstrap`` registers, built-in or ``FILINGFLOW_PROGRAMS``:
the notices its states queue, its deadlines' reminders and expiry alerts, its override notice,
for applicants (SMS; email = subject, text and html) and staff (email).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import Settings, SettingsError
from notifications.coverage import missing_templates
from states.registry import catalog, definitions
from tests.app.test_cli import run
from workflow.definition import NoticeRule

BROKEN = "tests.fixtures.programs.broken_notices:definitions"
ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "tests" / "fixtures" / "programs" / "broken_notices" / "templates"
EXPECTED = [
    f"program broken-notices-2025 v1: notice grant_letter (applicant, email) has no html template "
    f"(grant_letter.html.j2 in {FOLDER} or _common)",
    f"program broken-notices-2025 v1: notice auditor_alert (staff, email) has no subject template "
    f"(auditor_alert.subject.j2 in {FOLDER} or _common)",
    f"program broken-notices-2025 v1: notice auditor_alert (staff, email) has no text template "
    f"(auditor_alert.text.j2 in {FOLDER} or _common)",
    f"program broken-notices-2025 v1: notice auditor_alert (staff, email) has no html template "
    f"(auditor_alert.html.j2 in {FOLDER} or _common)",
]


def test_the_built_in_programs_have_every_template() -> None:  # LG-NOTE-1
    assert missing_templates(definitions()) == []


def test_bootstrap_refuses_a_broken_package_naming_program_kind_and_part(settings: Settings) -> None:
    with pytest.raises(SettingsError) as refused:
        bootstrap(replace(settings, programs=BROKEN))
    assert list(refused.value.problems) == EXPECTED
    assert str(refused.value).splitlines()[1:] == [f"  {line}" for line in EXPECTED], "one line each"


def test_a_reminder_expiry_alert_or_override_without_template_is_named_too(settings: Settings) -> None:
    longgang, _ = definitions()
    paper = next(d for d in longgang.deadlines if d.reminders)
    rung = replace(paper.reminders[0], notice=NoticeRule("paper_nudge", ("sms",)))
    changed = replace(
        longgang,
        deadlines=tuple(
            replace(d, reminders=(rung,), expiry_alert=NoticeRule("paper_gone", ("email",), audience="staff"))
            if d is paper
            else d
            for d in longgang.deadlines
        ),
        override_notice=NoticeRule("forced_move", ("sms",)),
    )
    parts = [line.split(": notice ")[1].split(" template")[0] for line in missing_templates([changed])]
    assert parts == [
        "paper_nudge (applicant, sms) has no sms",
        "paper_gone (staff, email) has no subject",
        "paper_gone (staff, email) has no text",
        "paper_gone (staff, email) has no html",
        "forced_move (applicant, sms) has no sms",
    ]


def test_the_cli_exits_2_listing_every_missing_template(tmp_path: Path) -> None:
    env = {
        "FILINGFLOW_PROGRAMS": BROKEN,
        "PYTHONPATH": str(ROOT),
        "FILINGFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'ff.db'}",
        "FILINGFLOW_AUDIT_KEY": "k",
    }
    result = run("worker", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: 4 notice template(s) missing, not starting:"
    assert [line.strip() for line in lines[1:]] == EXPECTED
    assert not (tmp_path / "ff.db").exists(), "refused before touching the database"
    assert catalog(BROKEN).get("broken-notices-2025"), "the package itself loads: only its templates are missing"
