"""The ``filingflow`` console script, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from workflow import schema
from workflow.database import create_database_engine

FILINGFLOW = str(Path(sys.executable).with_name("filingflow"))


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FILINGFLOW, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def db_env(database_url: str) -> dict[str, str]:
    """Environment pointing the CLI at this test's database (SQLite file or PostgreSQL)."""
    return {"FILINGFLOW_DATABASE_URL": database_url, "FILINGFLOW_AUDIT_KEY": "cli-test-key"}


def test_demo_runs_the_three_guide_paths_and_verifies(db_env: dict[str, str], tmp_path: Path) -> None:
    # LG-FLOW-1..6, LG-WIN-2 (resubmitted after the window), LG-DL-1 (missed paper deadline)
    demo = run("demo", env=db_env)
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "now funded (已资助), subsidy 360,000.00 CNY" in out
    assert "resubmit: returned (退回修改) -> online_review" in out
    assert "2025-09-20 16:00" in out
    assert "miss_paper_deadline: awaiting_paper (待递交书面材料) -> abandoned" in out
    assert "deadline set: paper_delivery due end of 2025-10-10 (Asia/Shanghai)" in out
    assert "window_closed: draft (草稿（未提交）) -> abandoned" in out
    verify = run("audit", "verify", env=db_env)
    assert verify.returncode == 0, verify.stderr
    assert "audit verify OK: 7 cases, " in verify.stdout
    assert "Case 7: 深圳市南山智训科技有限公司" in out
    # LG-CLAW-1: one funded case clawed back for false materials, recovered
    assert "Case 5: 深圳市横岗示例算力有限公司" in out
    assert "recover: clawback (追回中) -> recovered" in out
    assert "subsidy 1,000,000.00 CNY" in out, "the second contract hits the 3,000,000 annual cap (SZ-AMT-2)"
    # SZ-REDEEM-1: the first voucher redeemed in two parts; SZ-REDEEM-2: the second expires unredeemed
    assert "verify_redemption: redemption_requested (兑现申请核实中) -> partially_redeemed" in out
    assert "verify_redemption_in_full: redemption_requested (兑现申请核实中) -> redeemed" in out
    assert "granted 2,000,000.00, redeemed 2,000,000.00, expired 0.00, remaining 0.00 CNY" in out
    assert "redemption_period_ended: voucher_issued (已发放训力券，待兑现) -> voucher_expired" in out
    assert "granted 1,000,000.00, redeemed 0.00, expired 1,000,000.00, remaining 0.00 CNY" in out
    report = run("reports", "money", env=db_env)  # the money report per applicant and round
    assert report.returncode == 0, report.stderr
    assert "round total: 2 cases; granted 3,000,000.00, redeemed 2,000,000.00, expired 1,000,000.00" in report.stdout
    exported = run("reports", "money", "--out", str(tmp_path / "money.csv"), env=db_env)
    assert exported.returncode == 0, exported.stderr
    rows = (tmp_path / "money.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[-1].endswith(",(round total),,2,3000000.00,2000000.00,1000000.00,0.00")


def test_demo_without_a_database_url_uses_a_fresh_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FILINGFLOW_DATABASE_URL"}
    env.pop("FILINGFLOW_AUDIT_KEY", None)
    said = []
    for _ in range(2):  # a second run starts afresh instead of tripping over the first one's cases
        result = subprocess.run(
            [FILINGFLOW, "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        said.append(result.stderr)
    assert (tmp_path / "var" / "demo.db").exists()
    # no audit key in the source: the first start generates one and says where (issue 13 item 1)
    assert "generated a new secret in var/secrets/audit_key.key" in said[0]
    assert "secret read from var/secrets/audit_key.key" in said[1]


def test_audit_verify_and_anchor_detect_tampering(db_env: dict[str, str], tmp_path: Path) -> None:
    assert run("demo", env=db_env).returncode == 0
    anchor = tmp_path / "anchor.json"
    exported = run("audit", "anchor", "--out", str(anchor), env=db_env)
    assert exported.returncode == 0, exported.stderr
    heads = json.loads(anchor.read_text())["heads"]
    assert set(heads) == {"1", "2", "3", "4", "5", "6", "7"}
    database = create_database_engine(db_env["FILINGFLOW_DATABASE_URL"])
    with database.begin() as conn:  # truncate case 1's tail and rewind its row to match, every column
        last = conn.exec_driver_sql("SELECT version FROM cases WHERE id=1").scalar_one()
        query = sa.text("SELECT hash, to_state FROM audit_events WHERE case_id=1 AND seq=:s")
        prev, state = conn.execute(query, {"s": last - 1}).one()
        conn.execute(sa.text("DELETE FROM audit_events WHERE case_id=1 AND seq=:s"), {"s": last})
        conn.execute(
            sa.text(
                "UPDATE cases SET version=:v, chain_head=:h, state=:s, final=:f,"
                " live_key=program_key || ':' || applicant_code WHERE id=1"
            ),
            {"v": last - 1, "h": prev, "s": state, "f": False},
        )
    database.dispose()
    assert run("audit", "verify", env=db_env).returncode == 0
    caught = run("audit", "verify", "--anchor", str(anchor), env=db_env)
    assert caught.returncode == 1
    again = run("demo", env=db_env)  # a second demo on the same database refuses before writing anything
    assert again.returncode == 1  # refused, not a usage error (issue 15: 2 is the usage code)
    assert "already holds 7 cases" in again.stderr
    assert f"BROKEN case 1 event {last}" in caught.stderr
    assert "truncated tail" in caught.stderr
    with database.begin() as conn:  # an edited case row: caught without any anchor
        conn.exec_driver_sql("UPDATE cases SET state='funded' WHERE id=3")
    database.dispose()
    edited = run("audit", "verify", env=db_env)
    assert edited.returncode == 1
    assert "BROKEN case 3: case row differs from its trail: state is 'funded'" in edited.stderr


def test_programs_list_and_diagram() -> None:
    listed = run("programs", "list")
    assert listed.returncode == 0
    assert "longgang-ai-compute-2025  v1  2025年龙岗区人工智能算力扶持项目" in listed.stdout
    diagram = run("programs", "diagram", "longgang-ai-compute-2025")
    assert diagram.returncode == 0
    assert diagram.stdout.splitlines()[3] == "stateDiagram-v2"
    assert "awaiting_paper --> abandoned: miss_paper_deadline" in diagram.stdout
    assert "Class " not in diagram.stdout


def test_unknown_program_is_a_clear_error() -> None:
    result = run("programs", "diagram", "no-such-round")
    assert result.returncode == 1
    assert "unknown program 'no-such-round'" in result.stderr


def test_db_commands_migrate_an_empty_database(db_env: dict[str, str]) -> None:
    database = create_database_engine(db_env["FILINGFLOW_DATABASE_URL"])
    schema.downgrade(database, "base")
    database.dispose()
    head = schema.head_revision()
    assert f"current (empty), head {head} (run filingflow db upgrade)" in run("db", "current", env=db_env).stdout
    refused = run("audit", "verify", env=db_env)
    assert refused.returncode == 1
    assert "run `filingflow db upgrade`" in refused.stderr
    upgraded = run("db", "upgrade", env=db_env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip().endswith(f"database at {head}")
    assert run("db", "current", env=db_env).stdout.strip() == f"current {head}, head {head}"
    assert run("db", "downgrade", "base", env=db_env).stdout.strip() == "database at None"
