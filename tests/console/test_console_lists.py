"""名单管理 in the console (LG-LIST-1, SZ-LIST-1): entries, add, remove, import with a dry run first."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from tests.api.conftest import api_image
from tests.console.conftest import Console, form_token, section_text
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data, uscc
from workflow.listings import FLAGGED, Listings

ENTRY = {
    "list": "serious_dishonesty",
    "credit_code": uscc(1),
    "since": "2025-08-01",
    "until": "",
    "source": "信用中国",
    "note": "",
    "reason": "人工录入",
}
CSV = (
    "list,credit_code,since,until,source,note\n"
    f"serious_dishonesty,{uscc(1)},2025-01-01,,信用中国,\n"
    f"serious_dishonesty,{uscc(2)},2025-01-01,2030-12-31,信用中国,第二家\n"
)


def _open_case(console: Console, serial: int = 1) -> int:
    return console.engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id


def _post(http: httpx.Client, path: str, data: dict[str, str], **kwargs: object) -> httpx.Response:
    return http.post(path, data={**data, "csrf": form_token(http.get("/console/lists").text)}, **kwargs)  # type: ignore[arg-type]


def _upload(http: httpx.Client, name: str, content: bytes, reason: str = "2025年8月批次") -> httpx.Response:
    return _post(
        http, "/console/lists/imports", {"reason": reason, "action": "preview"}, files={"file": (name, content)}
    )


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def _confirmation(page: str) -> dict[str, str]:
    """The hidden fields of the dry run's confirmation form."""
    form = page[page.index('id="dry-run-h"') :]
    fields = ("file_name", "content", "reason", "token")
    return {**{name: _hidden(form, name) for name in fields}, "action": "confirm"}


def test_lg_list_1_the_page_shows_the_entries_filtered_by_list_and_credit_code(console: Console) -> None:
    with console.signed_in() as http:
        assert _post(http, "/console/lists/entries", ENTRY).status_code == 303
        other = {**ENTRY, "list": "overdue_acceptance", "credit_code": uscc(3), "source": "市科技局"}
        assert _post(http, "/console/lists/entries", other).status_code == 303
        page = http.get("/console/lists")
        assert page.status_code == 200
        listed = section_text(page.text, "entries-h")
        assert uscc(1) in listed
        assert uscc(3) in listed
        assert "严重失信主体名单" in listed, "a list is shown by its zh-CN label"
        by_code = section_text(http.get("/console/lists", params={"credit_code": uscc(3).lower()}).text, "entries-h")
        assert uscc(3) in by_code
        assert uscc(1) not in by_code
        by_list = section_text(http.get("/console/lists", params={"list": "serious_dishonesty"}).text, "entries-h")
        assert uscc(1) in by_list
        assert uscc(3) not in by_list
        unknown = http.get("/console/lists", params={"list": "no_such_list"})
        assert unknown.status_code == 422
        assert "字段 list" in unknown.text


def test_lg_list_1_adding_an_entry_flags_the_open_case_and_names_it(console: Console) -> None:
    case_id = _open_case(console)
    with console.signed_in() as http:
        added = _post(http, "/console/lists/entries", ENTRY)
        assert added.status_code == 303
        page = http.get("/console/lists").text
    assert f"标记的在办案件：案件 {case_id}" in page
    assert [h.event for h in console.engine.history(case_id)].count(FLAGGED) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("list", "no_such_list"),
        ("credit_code", "91440300ABC"),
        ("since", "2025-13-01"),
        ("until", "2020-01-01"),
        ("source", ""),
        ("reason", " "),
    ],
)
def test_lg_list_1_a_bad_entry_names_the_field_and_writes_nothing(console: Console, field: str, value: str) -> None:
    case_id = _open_case(console)
    before = api_image(console.engine)
    with console.signed_in() as http:
        refused = _post(http, "/console/lists/entries", {**ENTRY, field: value})
    assert refused.status_code == 422
    assert f"字段 {field}" in section_text(refused.text, "add-h")
    assert 'value="信用中国"' in refused.text or field == "source", "the form keeps what was typed"
    assert api_image(console.engine) == before
    assert FLAGGED not in [h.event for h in console.engine.history(case_id)]


def test_lg_list_1_an_entry_is_removed_with_a_reason_and_stays_on_record(console: Console) -> None:
    with console.signed_in() as http:
        _post(http, "/console/lists/entries", ENTRY)
        (entry,) = _entries(console)
        before = api_image(console.engine)
        refused = _post(http, f"/console/lists/entries/{entry['id']}/remove", {"reason": ""})
        assert refused.status_code == 422
        assert "字段 reason" in refused.text
        missing = _post(http, f"/console/lists/entries/{entry['id'] + 99}/remove", {"reason": "信用修复"})
        assert missing.status_code == 422
        assert "字段 entry_id" in missing.text
        assert api_image(console.engine) == before
        assert _post(http, f"/console/lists/entries/{entry['id']}/remove", {"reason": "信用修复"}).status_code == 303
        assert uscc(1) not in section_text(http.get("/console/lists").text, "entries-h")
        shown = section_text(http.get("/console/lists", params={"removed": "true"}).text, "entries-h")
    assert "已移出" in shown
    assert "信用修复" in shown
    again = _entries(console, include_removed=True)
    assert again[0]["removed_reason"] == "信用修复"


def _entries(console: Console, *, include_removed: bool = False) -> list[dict[str, Any]]:
    return Listings(console.engine).entries(include_removed=include_removed)


def test_lg_list_1_an_import_is_a_dry_run_first_and_applies_on_confirmation(console: Console) -> None:
    case_id = _open_case(console, serial=2)
    before = api_image(console.engine)
    with console.signed_in() as http:
        dry = _upload(http, "名单.csv", CSV.encode())
        assert dry.status_code == 200, dry.text
        shown = section_text(dry.text, "dry-run-h")
        assert "将新增（2 条）" in shown
        assert "第 3 行" in shown
        assert f"案件 {case_id}" in shown, "the dry run names the case that would be flagged"
        assert api_image(console.engine) == before, "a dry run writes nothing"
        confirm = _confirmation(dry.text)
        forged = _post(http, "/console/lists/imports", {**confirm, "reason": "别的理由"})
        assert forged.status_code == 422
        assert "字段 confirm_token" in forged.text
        assert api_image(console.engine) == before
        done = _post(http, "/console/lists/imports", confirm)
        assert done.status_code == 303, done.text
        assert "新增 2 条" in http.get("/console/lists").text
        again = _post(http, "/console/lists/imports", confirm)
        assert again.status_code == 303
        assert "新增 0 条，已有未变 2 条" in http.get("/console/lists").text
    assert len(_entries(console)) == 2
    assert FLAGGED in [h.event for h in console.engine.history(case_id)]


def test_lg_list_1_an_xlsx_import_with_zh_headings_is_read(console: Console) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["名单", "统一社会信用代码", "起始日期", "截止日期", "来源", "备注"])
    sheet.append(["serious_dishonesty", uscc(1), "2025-01-01", None, "信用中国", None])
    buffer = io.BytesIO()
    book.save(buffer)
    with console.signed_in() as http:
        dry = _upload(http, "名单.xlsx", buffer.getvalue())
        assert dry.status_code == 200
        assert "将新增（1 条）" in dry.text
        assert _post(http, "/console/lists/imports", _confirmation(dry.text)).status_code == 303
    assert [e["applicant_code"] for e in _entries(console)] == [uscc(1)]


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("名单.txt", CSV.encode(), "FILE"),
        ("名单.csv", "名单,x\n".encode(), "FILE"),
        ("名单.csv", b"\xff\xfe\x00bad", "FILE"),
        ("名单.xlsx", b"not a workbook", "FILE"),
        ("名单.csv", b"", "file"),
        ("名单.csv", b"x" * (512 * 1024 + 1), "file"),
    ],
)
def test_lg_list_1_a_bad_file_names_the_field_and_writes_nothing(
    console: Console, name: str, content: bytes, field: str
) -> None:
    before = api_image(console.engine)
    with console.signed_in() as http:
        refused = _upload(http, name, content)
    assert refused.status_code == 422
    assert f"字段 {field}" in section_text(refused.text, "import-h")
    assert api_image(console.engine) == before


def test_lg_list_1_bad_rows_are_named_by_line_and_column_and_nothing_is_written(console: Console) -> None:
    text = CSV + f"overdue_acceptance,{uscc(3)},2025-13-01,,市科技局,\n"
    before = api_image(console.engine)
    with console.signed_in() as http:
        refused = _upload(http, "名单.csv", text.encode())
        no_reason = _upload(http, "名单.csv", CSV.encode(), reason="")
        no_file = _post(http, "/console/lists/imports", {"reason": "x", "action": "preview"})
    assert refused.status_code == 422
    errors = section_text(refused.text, "dry-run-h")
    assert re.search(r"\s4\s+since\s+'2025-13-01' is not a date", errors), "line 4, column since"
    assert "确认导入" not in refused.text, "a file with errors cannot be confirmed"
    assert no_reason.status_code == 422
    assert "字段 reason" in no_reason.text
    assert no_file.status_code == 422
    assert "字段 file" in no_file.text
    assert api_image(console.engine) == before


@pytest.mark.parametrize("role", ["platform", "applicant"])
def test_lg_list_1_a_non_staff_caller_is_refused(console: Console, role: str) -> None:
    before = api_image(console.engine)
    bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
    with console.signed_in() as http:
        token = console.csrf(http, "/console/lists")
        assert http.get("/console/lists", headers=bearer).status_code == 403
        assert http.get("/console/reports/money", headers=bearer).status_code == 403
        assert http.get("/console/reports/money.csv", headers=bearer).status_code == 403
        for path in ("/console/lists/entries", "/console/lists/entries/1/remove", "/console/lists/imports"):
            assert http.post(path, data={**ENTRY, "csrf": token}, headers=bearer).status_code == 403, path
    with httpx.Client(base_url=console.base, follow_redirects=False) as anonymous:
        refused = console.sign_in(anonymous, console.tokens[role])
        assert refused.status_code != 303 or "filingflow_console" not in anonymous.cookies
        assert anonymous.get("/console/lists").headers.get("location") == "/console/login"
        assert anonymous.post("/console/lists/entries", data=ENTRY).status_code == 403
    assert api_image(console.engine) == before
