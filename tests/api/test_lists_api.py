"""LG-LIST-1, SZ-LIST-1 over HTTP: staff keep the official lists; a listed applicant's case shows its flag."""

from __future__ import annotations

import base64

import pytest

from tests.api.conftest import Api, api_image
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data, uscc

CSV = (
    "list,credit_code,since,until,source,note\n"
    f"serious_dishonesty,{uscc(1)},2025-01-01,,信用中国,\n"
    f"overdue_acceptance,{uscc(3)},2025-13-01,,市科技局,\n"
)


def _import(api: Api, text: str, *, apply: bool) -> dict[str, object]:
    body = {
        "file_name": "名单.csv",
        "content_base64": base64.b64encode(text.encode()).decode(),
        "reason": "2025年8月批次",
        "apply": apply,
    }
    with api.client("staff") as http:
        response = http.post("/v1/lists/imports", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_lg_list_1_import_over_http_names_bad_rows_and_a_dry_run_writes_nothing(api: Api) -> None:
    before = api_image(api.engine)
    refused = _import(api, CSV, apply=True)
    assert refused["errors"] == [{"line": 3, "column": "since", "message": "'2025-13-01' is not a date YYYY-MM-DD"}]
    good = CSV.splitlines()[:2]
    dry = _import(api, "\n".join(good), apply=False)
    assert (dry["dry_run"], len(dry["added"])) == (True, 1)  # type: ignore[arg-type]
    assert api_image(api.engine) == before
    done = _import(api, "\n".join(good), apply=True)
    assert len(done["added"]) == 1  # type: ignore[arg-type]
    with api.client("staff") as http:
        entries = http.get("/v1/lists/entries", params={"credit_code": uscc(1)}).json()
    assert [(e["list_key"], e["batch"]) for e in entries] == [("serious_dishonesty", done["batch"])]


def test_lg_list_1_a_case_shows_its_flag_and_the_entry_can_be_removed(api: Api) -> None:
    case_id = api.engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    entry = {
        "list": "serious_dishonesty",
        "credit_code": uscc(1),
        "since": "2025-08-01",
        "source": "信用中国",
        "reason": "人工录入",
    }
    with api.client("platform") as http:
        assert http.post("/v1/lists/entries", json=entry).status_code == 403
    with api.client("staff") as http:
        added = http.post("/v1/lists/entries", json=entry)
        assert added.status_code == 201, added.text
        assert added.json()["flagged_cases"] == [case_id]
        view = http.get(f"/v1/cases/{case_id}/listings").json()
        assert [e["list"] for e in view["listed"]] == ["serious_dishonesty"]
        assert [f["event"] for f in view["flags"]] == ["listing.flagged"]
        entry_id = added.json()["entry"]["id"]
        assert http.post(f"/v1/lists/entries/{entry_id}/remove", json={"reason": ""}).status_code == 422
        removed = http.post(f"/v1/lists/entries/{entry_id}/remove", json={"reason": "信用修复"})
        assert removed.json()["removed_reason"] == "信用修复"
        assert http.post(f"/v1/lists/entries/{entry_id + 99}/remove", json={"reason": "x"}).status_code == 404
        assert http.get(f"/v1/cases/{case_id}/listings").json()["listed"] == []
    with api.client("platform") as http:
        submitted = http.post(f"/v1/cases/{case_id}/events", json={"event": "submit"})
    assert submitted.status_code == 200, "removed from the list: no longer refused (LG-LIST-1)"


def test_lg_agent_1_the_round_overview_counts_intermediary_refusals(api: Api) -> None:
    case_id = api.engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    with api.client("platform") as http:
        refused = http.post(
            f"/v1/cases/{case_id}/events", json={"event": "submit", "payload": {"submitter_code": uscc(5)}}
        )
        assert (refused.status_code, refused.json()["rule"]) == (422, "LG-AGENT-1")
        assert http.post(f"/v1/cases/{case_id}/events", json={"event": "submit"}).status_code == 200
    with api.client("staff") as http:
        body = {"event": "reject_intermediary", "payload": {"reason": "中介代为申报"}}
        assert http.post(f"/v1/cases/{case_id}/events", json=body).status_code == 200
        counts = http.get(f"/v1/programs/{PROGRAM}/staff-refusals").json()
    assert [(c["reason_code"], c["rule"], c["count"]) for c in counts] == [("intermediary", "LG-AGENT-1", 1)]


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        # a cell over the csv module's 128 KiB field limit was a 500 (_csv.Error)
        ("long cell", f"serious_dishonesty,{uscc(5)},2025-01-01,,src,{'x' * 200_000}\n", "line 2 cannot be read"),
        # a NUL passed the dry run and was stored on SQLite; PostgreSQL refuses such text (a 500 at apply)
        ("NUL", f"serious_dishonesty,{uscc(5)},2025-01-01,,src,a\x00b\n", "line 2 holds a NUL"),
    ],
)
def test_lg_list_1_an_import_with_an_unreadable_cell_is_422_naming_the_line(
    api: Api, name: str, text: str, says: str
) -> None:
    before = api_image(api.engine)
    body = {
        "file_name": "名单.csv",
        "content_base64": base64.b64encode((CSV.splitlines()[0] + "\n" + text).encode()).decode(),
        "reason": "hostile file",
        "apply": True,
    }
    with api.client("staff") as http:
        refused = http.post("/v1/lists/imports", json=body)
    assert (refused.status_code, refused.json()["field"]) == (422, "FILE"), (name, refused.text[:300])
    assert says in refused.json()["detail"]
    assert api_image(api.engine) == before


def test_lg_list_1_an_import_whose_header_names_a_column_twice_is_refused(api: Api) -> None:
    # which of two "list" columns counts would be a guess (the later one did): refused, like a JSON key twice
    text = f"list,list,credit_code,since,until,source,note\novertime,serious_dishonesty,{uscc(5)},2025-01-01,,src,\n"
    body = {"file_name": "a.csv", "content_base64": base64.b64encode(text.encode()).decode(), "reason": "r"}
    with api.client("staff") as http:
        refused = http.post("/v1/lists/imports", json=body)
    assert (refused.status_code, refused.json()["field"]) == (422, "FILE")
    assert "list more than once" in refused.json()["detail"]


def test_lg_list_1_import_reads_dates_only_as_yyyy_mm_dd(api: Api) -> None:
    """Python's fromisoformat also reads 20250101 and the ISO week date 2025-W01-3; a list's dates are
    typed by people and read back by people, so only the one form is taken, the line and column named."""
    before = api_image(api.engine)
    text = (
        "list,credit_code,since,until,source,note\n"
        f"serious_dishonesty,{uscc(1)},20250101,,信用中国,\n"
        f"serious_dishonesty,{uscc(3)},2025-01-01,2025-W52-3,信用中国,\n"
    )
    refused = _import(api, text, apply=True)
    assert refused["errors"] == [
        {"line": 2, "column": "since", "message": "'20250101' is not a date YYYY-MM-DD"},
        {"line": 3, "column": "until", "message": "'2025-W52-3' is not a date YYYY-MM-DD"},
    ]
    assert api_image(api.engine) == before
