"""The portal's approval results as a staff batch (issue 15, item 8): a dry run, then the batch, audited per case.

The Guangdong portal's results list credit codes with the time each approval SMS went out;
importing them fires approve_on_portal with {"portal_notified_at": <instant>} (LG-DL-1 counts
the paper deadline from that notice).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from app.batch_import import apply_import, plan_import, read_rows
from tests.app.test_cli import run
from tests.app.test_cli_operations import _env
from tests.support.invariants import database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh, uscc
from workflow.clock import ManualClock
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import InvalidInput

EVENT, FIELD = "approve_on_portal", "portal_notified_at"
IMPORT = ("--program", PROGRAM, "--event", EVENT, "--field", FIELD, "--actor", "li")


def on_portal(engine: Engine, serial: int) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    engine.fire(case_id, "file_on_portal", actor=PLATFORM)
    return case_id


def test_a_dry_run_reports_then_the_batch_moves_and_audits_each_case(
    engine: Engine, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    # LG-DL-1: the approval notice's time travels in the payload of each case's approve_on_portal
    first, second = on_portal(engine, 1), on_portal(engine, 2)
    reviewing = engine.open_case(PROGRAM, applicant=applicant(3), data=complete_data(), actor=PLATFORM).id
    engine.fire(reviewing, "submit", actor=PLATFORM)
    on_portal(engine, 5)
    clock.set(sh("2025-09-27 10:00"))
    bad_digit = uscc(6)[:-1] + ("0" if uscc(6)[-1] != "0" else "1")
    sheet = tmp_path / "广东政务服务网审核结果.csv"
    sheet.write_text(
        "\ufeff序号,统一社会信用代码,单位名称,短信发送时间\n"
        f"1,{uscc(1)},一号,2025-09-26 10:00\n"
        f"2,{uscc(2).lower()},二号,2025/09/26 15:30:00\n"
        f"3,{uscc(3)},三号,2025-09-26 10:00\n"
        f"4,{uscc(4)},四号,2025-09-26 10:00\n"
        f"5,{uscc(1)},一号重复,2025-09-26 10:00\n"
        f"6,{uscc(5)},五号,2099-01-01 10:00\n"
        f"7,{bad_digit},六号,2025-09-26 10:00\n"
        f"8,{uscc(7)},七号,昨天\n"
        ",,,\n",
        encoding="utf-8",
    )
    env = _env(database_url, tmp_path)
    before = database_image(engine)
    dry = run("cases", "import", str(sheet), *IMPORT, env=env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == (
        f"line 2: {uscc(1)} 深圳市测试科技1号有限公司: would move case {first} portal_review -> awaiting_paper, "
        "SMS sent 2025-09-26 10:00"
    )
    assert lines[1].endswith(f"would move case {second} portal_review -> awaiting_paper, SMS sent 2025-09-26 15:30")
    refusals = {line.split(":")[0]: line.split("refused: ", 1)[1] for line in lines if "refused: " in line}
    assert refusals == {
        "line 4": f"case {reviewing} is 线上审核中（online_review）",
        "line 5": f"no open case of {PROGRAM}",
        "line 6": "listed twice (first on line 2)",
        "line 7": "the time 2099-01-01 10:00 is in the future",
        "line 8": refusals["line 8"],
        "line 9": "'昨天' is not a time (YYYY-MM-DD HH:MM, Asia/Shanghai)",
    }
    assert "check" in refusals["line 8"]  # the check digit (GB 32100-2015)
    assert lines[-1] == f"would move 2 cases of {PROGRAM} by {EVENT}; 6 rows refused"
    assert "--apply" in dry.stderr
    assert database_image(engine) == before, "a dry run writes nothing"

    applied = run("cases", "import", str(sheet), *IMPORT, "--apply", env=env)
    assert applied.returncode == 1, "some rows were refused"
    assert applied.stdout.splitlines()[-1] == f"moved 2 cases of {PROGRAM} by {EVENT}; 6 rows refused"
    for case_id, sent in ((first, "2025-09-26T10:00:00+08:00"), (second, "2025-09-26T15:30:00+08:00")):
        assert engine.get_case(case_id).state == "awaiting_paper"
        last = engine.history(case_id)[-1]
        assert (last.event, last.actor, last.role, last.via) == (EVENT, "li", "staff", "cli:import")
        assert last.new_values["payload"] == {FIELD: sent}
    again = run("cases", "import", str(sheet), *IMPORT, "--apply", env=env)
    assert f"line 2: {uscc(1)}: refused: case {first} is 待递交书面材料（awaiting_paper）" in again.stdout
    assert len(engine.history(first)) == len(engine.history(second)) == 5


def test_an_xlsx_with_excel_date_cells_plans_the_same_way(engine: Engine, clock: ManualClock, tmp_path: Path) -> None:
    case_id = on_portal(engine, 1)
    clock.set(sh("2025-09-27 10:00"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统一社会信用代码", "短信发送时间"])
    sheet.append([uscc(1), datetime(2025, 9, 26, 10, 0)])  # noqa: DTZ001 (Excel's cells carry no zone: Asia/Shanghai)
    path = tmp_path / "results.xlsx"
    book.save(path)
    rows = read_rows(path)
    staff = Actor("li", "staff", "tests")
    plan = plan_import(engine, rows, program=PROGRAM, event=EVENT, actor=staff)
    assert [(m.case_id, m.at) for m in plan.moves] == [(case_id, sh("2025-09-26 10:00"))]
    done = apply_import(engine, rows, program=PROGRAM, event=EVENT, field_name=FIELD, actor=staff)
    assert done.moved == [case_id]
    assert engine.history(case_id)[-1].new_values["payload"] == {FIELD: "2025-09-26T10:00:00+08:00"}


def test_a_file_without_the_columns_is_refused_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("名称,日期\n一号,2025-09-26\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="统一社会信用代码") as refused:
        read_rows(path)
    assert refused.value.field == "FILE"
