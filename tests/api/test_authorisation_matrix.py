"""Every endpoint x every caller x own or another applicant's case, each cell with its exact status (OWASP API1/API5).

Callers: no token, platform, staff, admin, and an applicant on its own case ("own") and on
another applicant's ("other"). Each cell runs on a case set up afresh in the state the row
needs, so no cell depends on another; a refused cell must leave every table as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import Api, api_image
from tests.support.longgang import ADMIN, PLATFORM, PROGRAM, STAFF, applicant, complete_data, uscc
from workflow.listings import Listings
from workflow.tables import cases, notices

CELLS = ("anonymous", "platform", "staff", "admin", "own", "other")
SHENZHEN = "shenzhen-training-voucher-2024"
OWNER = {"own": 1, "other": 2}  # applicant serials: the "applicant" token holds uscc(1), "other_applicant" uscc(2)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as in the OpenAPI spec
    expect: dict[str, int]
    body: dict[str, Any] | None = None
    state: str | None = None  # the case state the row needs: draft, online_review, awaiting_paper, suspended
    if_match: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def expect(anonymous: int, platform: int, staff: int, admin: int, own: int, other: int) -> dict[str, int]:
    return dict(zip(CELLS, (anonymous, platform, staff, admin, own, other), strict=True))


READ = expect(401, 200, 200, 200, 200, 200)
READ_CASE = expect(401, 200, 200, 200, 200, 404)  # another applicant's case: its existence is not revealed
STAFF_ONLY = expect(401, 403, 200, 200, 403, 403)  # refused by role before any case is looked at
ADMIN_ONLY = expect(401, 403, 403, 200, 403, 403)

ROWS = [
    Row(
        "POST",
        "/v1/cases",
        expect(401, 201, 403, 201, 403, 403),
        body={"program": PROGRAM, "applicant": applicant(1), "data": complete_data()},
    ),
    Row("GET", "/v1/cases", READ),
    Row("GET", "/v1/cases/{case_id}", READ_CASE, state="draft"),
    Row("GET", "/v1/cases/{case_id}/audit", READ_CASE, state="draft"),
    Row("GET", "/v1/cases/{case_id}/notices", READ_CASE, state="online_review"),
    # an applicant-side event: the platform on the applicant's behalf, or the applicant itself
    Row(
        "POST",
        "/v1/cases/{case_id}/events",
        expect(401, 200, 403, 403, 200, 404),
        body={"event": "submit"},
        state="draft",
    ),
    # a staff event attempted by the platform and by applicants
    Row(
        "POST",
        "/v1/cases/{case_id}/events",
        expect(401, 403, 200, 200, 403, 404),
        body={"event": "pass_online_review"},
        state="online_review",
        extra={"kind": "staff event"},
    ),
    Row(
        "POST",
        "/v1/cases/{case_id}/override",
        STAFF_ONLY,
        body={"target_state": "evaluation", "reason": "已收件"},
        state="awaiting_paper",
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/cases/{case_id}/deadlines/{deadline_id}/extend",
        STAFF_ONLY,
        body={"working_days": 1, "reason": "在途"},
        state="awaiting_paper",
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/cases/{case_id}/deadlines/{deadline_id}/suspend",
        STAFF_ONLY,
        body={"reason": "等待"},
        state="awaiting_paper",
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/cases/{case_id}/deadlines/{deadline_id}/resume",
        STAFF_ONLY,
        body={"reason": "继续"},
        state="suspended",
        if_match=True,
    ),
    Row(
        "POST",
        "/v1/cases/{case_id}/notices/{notice_id}/resend",
        expect(401, 202, 202, 202, 403, 403),
        state="online_review",
    ),
    Row("GET", "/v1/programs", READ),
    Row("GET", "/v1/programs/{key}", READ),
    Row("POST", "/v1/programs/{key}/batches", STAFF_ONLY, body={"event": "accept", "count": 1}),
    Row("GET", "/v1/webhooks", ADMIN_ONLY),
    Row(
        "POST",
        "/v1/webhooks",
        expect(401, 403, 403, 201, 403, 403),
        body={"url": "http://127.0.0.1:9/hook", "secret": "s" * 16},
    ),
    Row("DELETE", "/v1/webhooks/{webhook_id}", expect(401, 403, 403, 204, 403, 403)),
    Row("GET", "/healthz", expect(200, 200, 200, 200, 200, 200)),
    Row("GET", "/v1/reports/money", STAFF_ONLY),  # redeem: money per applicant and round
    Row("GET", "/v1/reports/money.csv", STAFF_ONLY),
    Row("GET", "/v1/programs/{key}/staff-refusals", STAFF_ONLY),  # LG-AGENT-1
    # the official lists (LG-LIST-1, SZ-LIST-1): staff only
    Row("GET", "/v1/lists", STAFF_ONLY),
    Row("GET", "/v1/lists/entries", STAFF_ONLY),
    Row("GET", "/v1/cases/{case_id}/listings", STAFF_ONLY, state="online_review"),
    Row(
        "POST",
        "/v1/lists/entries",
        expect(401, 403, 201, 201, 403, 403),
        body={
            "list": "overdue_acceptance",
            "credit_code": uscc(9),
            "since": "2025-01-01",
            "source": "s",
            "reason": "r",
        },
    ),
    Row("POST", "/v1/lists/entries/{entry_id}/remove", STAFF_ONLY, body={"reason": "信用修复"}),
    Row(
        "POST",
        "/v1/lists/imports",
        STAFF_ONLY,
        body={"file_name": "a.csv", "content_base64": "bGlzdCxjcmVkaXRfY29kZSxzaW5jZSxzb3VyY2UK", "reason": "r"},
    ),
]


def test_the_matrix_covers_every_operation_in_the_spec(api: Api) -> None:
    with api.client(None) as http:
        spec = http.get("/openapi.json").json()
    operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}
    assert operations == {row.id for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.id} {r.extra.get('kind', '')}".strip() for r in ROWS])
def test_authorisation_matrix(api: Api, row: Row) -> None:
    wrong = []
    for cell in CELLS:
        status, text, refused_wrote = _run(api, row, cell)
        if status != row.expect[cell] or refused_wrote:
            wrong.append((cell, f"expected {row.expect[cell]}, got {status}", refused_wrote, text[:200]))
    assert wrong == []


def _run(api: Api, row: Row, cell: str) -> tuple[int, str, bool]:
    """Set the cell's world up afresh, make the call; (status, body, whether a refusal changed anything)."""
    serial = OWNER.get(cell, 1)
    _retire(api, uscc(serial))
    ids: dict[str, Any] = {"key": SHENZHEN if row.path.endswith("/batches") else PROGRAM}
    headers: dict[str, str] = {}
    if row.state is not None:
        case_id = _case_in(api, serial, row.state)
        snapshot = api.engine.get_case(case_id)
        ids["case_id"] = case_id
        ids["deadline_id"] = snapshot.deadlines[0].id if snapshot.deadlines else 1
        ids["notice_id"] = _an_sms(api, case_id)
        if row.if_match:
            headers["If-Match"] = f'"{snapshot.version}"'
    if "{webhook_id}" in row.path:
        with api.client("admin") as admin:
            made = admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 16})
            ids["webhook_id"] = made.json()["id"]
    if "{entry_id}" in row.path:
        added, _ = Listings(api.engine).add(
            {"list": "overdue_acceptance", "credit_code": uscc(9), "since": "2025-01-01", "source": "s"},
            actor=STAFF,
            reason="matrix set-up",
        )
        ids["entry_id"] = added["id"]
    before = api_image(api.engine)
    with _client(api, cell) as http:
        response = http.request(row.method, row.path.format(**ids), json=row.body, headers=headers)
    refused_wrote = response.status_code >= 400 and api_image(api.engine) != before
    return response.status_code, response.text, refused_wrote


def _client(api: Api, cell: str) -> httpx.Client:
    role = {"anonymous": None, "own": "applicant", "other": "applicant"}.get(cell, cell)
    return api.client(role)


def _retire(api: Api, code: str) -> None:
    """Withdraw the applicant's live cases (one live case per applicant and round, LG-ELIG-2)."""
    with api.engine.database.connect() as conn:
        live = conn.execute(
            sa.select(cases.c.id).where(cases.c.applicant_code == code, cases.c.final.is_(False))
        ).scalars()
        ids = list(live)
    for case_id in ids:
        api.engine.override(case_id, "withdrawn", actor=ADMIN, reason="matrix: next cell")


def _case_in(api: Api, serial: int, state: str) -> int:
    engine = api.engine
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
    if state == "draft":
        return case_id
    engine.fire(case_id, "submit", actor=PLATFORM)
    if state == "online_review":
        return case_id
    engine.override(case_id, "awaiting_paper", actor=STAFF, reason="matrix set-up")
    if state == "suspended":
        deadline = engine.get_case(case_id).deadlines[0].id
        engine.suspend_deadline(case_id, deadline, actor=STAFF, reason="matrix set-up")
    return case_id


def _an_sms(api: Api, case_id: int) -> int:
    with api.engine.database.connect() as conn:
        found = conn.execute(
            sa.select(notices.c.id).where(notices.c.case_id == case_id, notices.c.channel == "sms").limit(1)
        ).scalar()
    return int(found) if found is not None else 1


def test_another_applicants_case_looks_exactly_like_no_case(api: Api) -> None:
    theirs = _case_in(api, 2, "online_review")
    missing = theirs + 1000
    with api.client("applicant") as http:
        for suffix in ("", "/audit", "/notices"):
            hidden, absent = http.get(f"/v1/cases/{theirs}{suffix}"), http.get(f"/v1/cases/{missing}{suffix}")
            assert (hidden.status_code, absent.status_code) == (404, 404)
            strip = {"detail", "detail_zh", "instance", "case_id"}
            assert {k: v for k, v in hidden.json().items() if k not in strip} == {
                k: v for k, v in absent.json().items() if k not in strip
            }
            for said in ("detail", "detail_zh"):
                assert hidden.json()[said].replace(str(theirs), "N") == absent.json()[said].replace(str(missing), "N")
