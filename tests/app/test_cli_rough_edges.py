"""The CLI's rough edges from issue 15 item 4, each run as the real console script (or its command tree)."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli import cli
from app.cli_help import readable_help
from tests.app.test_cli import run
from tests.app.test_cli_operations import _env
from tests.support.longgang import PROGRAM, awaiting_paper, submitted
from workflow.clock import ManualClock
from workflow.engine import Engine


def test_an_empty_notice_list_says_so(engine: Engine, database_url: str, tmp_path: Path) -> None:
    listed = run("notifications", "list", env=_env(database_url, tmp_path))
    assert (listed.returncode, listed.stdout.strip()) == (0, "no dead notices")
    pending = run("notifications", "list", "--status", "pending", env=_env(database_url, tmp_path))
    assert pending.stdout.strip() == "no pending notices"


def test_deadlines_explain_and_extend_speak_in_shanghai_days_and_flags(
    engine: Engine, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    # LG-DL-1: SMS Fri 2025-09-26 -> due by the end of Fri 2025-10-10 (Asia/Shanghai), said once, no ISO instant
    env = _env(database_url, tmp_path)
    case_id, deadline_id = awaiting_paper(engine, clock, "2025-09-26 10:00")
    explained = run("deadlines", "explain", str(case_id), env=env)
    assert explained.returncode == 0, explained.stderr
    headers = [line for line in explained.stdout.splitlines() if line.startswith("[")]
    assert (
        headers[-1]
        == f"[{deadline_id}] paper_delivery (LG-DL-1, 书面材料递交期限) pending, due by the end of 2025-10-10"
    )
    assert explained.stdout.count("due by the end of") == len(headers)
    assert "T00:00" not in explained.stdout
    assert "+08:00" not in explained.stdout
    extend = ("deadlines", "extend", str(case_id), str(deadline_id), "--actor", "li", "--reason", "快递延误")
    neither = run(*extend, env=env)
    assert neither.returncode == 1
    assert neither.stderr.strip() == "error: give exactly one of --working-days or --to [case=1, field=--working-days]"
    too_many = run(*extend, "--working-days", "0", env=env)
    assert "--working-days must be 1.." in too_many.stderr
    assert "working_days" not in too_many.stderr
    extended = run(*extend, "--working-days", "2", env=env)
    assert (
        extended.stdout.strip() == f"deadline {deadline_id} now due by the end of 2025-10-13"
    )  # Sat 10-11 is a make-up working day


def test_an_unknown_case_exits_1_not_the_usage_code(engine: Engine, database_url: str, tmp_path: Path) -> None:
    missing = run("deadlines", "explain", "99", env=_env(database_url, tmp_path))
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: no case 99 [case=99, field=case_id]")
    usage = run("deadlines", "explain", "not-a-number", env=_env(database_url, tmp_path))
    assert usage.returncode == 2  # a usage error keeps click's code


def test_advancing_nothing_says_why(engine: Engine, database_url: str, tmp_path: Path) -> None:
    # SZ-FLOW-3's batch command on Longgang: nothing is under online review yet
    advanced = run(
        "cases",
        "advance",
        PROGRAM,
        "pass_online_review",
        "--count",
        "1",
        "--actor",
        "li",
        env=_env(database_url, tmp_path),
    )
    assert (advanced.returncode, advanced.stdout.strip()) == (
        0,
        f"advanced 0 cases: no case of {PROGRAM} is in a state pass_online_review leaves (online_review)",
    )


def test_no_help_page_shows_python_type_labels() -> None:
    root = readable_help(typer.main.get_command(cli))
    pages = 0

    def walk(command: object, name: str) -> None:
        nonlocal pages
        ctx = command.make_context(name, [], resilient_parsing=True)  # type: ignore[attr-defined]
        text = command.get_help(ctx)  # type: ignore[attr-defined]
        pages += 1
        for label in ("<bool>", "<str>", "<int>", "<float>", "<path>"):
            assert label not in text, f"{name}: {label}"
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{name} {sub_name}")

    walk(root, "filingflow")
    assert pages > 25
    extend = run("deadlines", "extend", "--help").stdout
    assert "--working-days N" in extend
    assert "--to DATE" in extend
    assert "CASE_ID" in extend


def test_long_jobs_show_progress(engine: Engine, database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    for serial in (1, 2):
        submitted(engine, serial)
    dispatched = run("notifications", "dispatch", env={**env, "FILINGFLOW_OUTBOX_BATCH": "4"})
    assert dispatched.returncode == 0, dispatched.stderr
    batches = [line for line in dispatched.stderr.splitlines() if line.startswith("batch ")]
    assert [line.split(":")[0] for line in batches] == ["batch 1", "batch 2"]
    assert batches[0].startswith("batch 1: 4 claimed, 4 sent")
    assert "dispatch: 6 claimed, 6 sent" in dispatched.stdout
    verified = run("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "walking the hash chains of 4 audit events ..." in verified.stderr
    assert "... done in " in verified.stderr
