"""``filingflow lists``: LG-LIST-1 and SZ-LIST-1 from the command line, CSV and XLSX, dry run first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.app.test_cli import run
from tests.support.longgang import uscc


@pytest.fixture
def db_env(database_url: str) -> dict[str, str]:
    return {"FILINGFLOW_DATABASE_URL": database_url, "FILINGFLOW_AUDIT_KEY": "cli-test-key"}


def _xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名单", "统一社会信用代码", "起始日期", "截止日期", "来源", "备注"])
    sheet.append(["research_integrity_abnormal", uscc(4), "2024-06-01", None, "市科技局", ""])
    sheet.append(["no_such_list", uscc(5), "2024-06-01", None, "市科技局", ""])
    book.save(path)
    return path


def test_lg_list_1_import_a_csv_dry_run_then_apply_then_show(db_env: dict[str, str], tmp_path: Path) -> None:
    assert run("db", "upgrade", env=db_env).returncode == 0
    csv = tmp_path / "list.csv"
    csv.write_text(f"list,credit_code,since,until,source,note\nserious_dishonesty,{uscc(1)},2025-01-01,,信用中国,\n")
    who = ("--actor", "reviewer-zhang", "--reason", "2025年8月批次")
    dry = run("lists", "import", str(csv), *who, env=db_env)
    assert dry.returncode == 0, dry.stderr
    assert "would add 1" in dry.stdout
    assert "dry run" in dry.stderr
    shown = run("lists", "show", env=db_env)
    assert shown.stdout == "", "a dry run adds nothing"
    done = run("lists", "import", str(csv), *who, "--apply", env=db_env)
    assert "added 1" in done.stdout, done.stderr
    entries = [json.loads(line) for line in run("lists", "show", "--code", uscc(1), env=db_env).stdout.splitlines()]
    assert [(e["list_key"], e["added_by"]) for e in entries] == [("serious_dishonesty", "reviewer-zhang")]
    removed = run("lists", "remove", str(entries[0]["id"]), *who, env=db_env)
    assert json.loads(removed.stdout)["removed_by"] == "reviewer-zhang"


def test_sz_list_1_an_xlsx_with_a_bad_row_is_refused_whole(db_env: dict[str, str], tmp_path: Path) -> None:
    assert run("db", "upgrade", env=db_env).returncode == 0
    path = _xlsx(tmp_path / "名单.xlsx")
    refused = run("lists", "import", str(path), "--actor", "r", "--reason", "批次", "--apply", env=db_env)
    assert refused.returncode == 1
    assert "refused: line 3, column list: unknown list 'no_such_list'" in refused.stderr
    assert run("lists", "show", env=db_env).stdout == ""
