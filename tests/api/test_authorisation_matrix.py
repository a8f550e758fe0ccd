"""Every endpoint x every role x own or another applicant's case (OWASP API1/API5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ROLES, Api
from tests.support.longgang import PROGRAM, applicant, complete_data

OWN, OTHER = 1, 2  # case 1 belongs to the "applicant" token, case 2 to "other_applicant"

# (method, path, body, If-Match needed, roles allowed) -- "{c}" is the case id
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, bool, set[str]]] = [
    ("GET", "/v1/cases/{c}", None, False, {"platform", "staff", "admin", "applicant"}),
    ("GET", "/v1/cases/{c}/audit", None, False, {"platform", "staff", "admin", "applicant"}),
    ("GET", "/v1/cases/{c}/notices", None, False, {"platform", "staff", "admin", "applicant"}),
    ("POST", "/v1/cases/{c}/events", {"event": "withdraw"}, False, {"platform", "applicant"}),
    (
        "POST",
        "/v1/cases/{c}/override",
        {"target_state": "online_review", "reason": "x", "dry_run": True},
        True,
        {"staff", "admin"},
    ),
    ("POST", "/v1/cases/{c}/deadlines/{d}/extend", {"working_days": 1, "reason": "x"}, True, {"staff", "admin"}),
    ("POST", "/v1/cases/{c}/notices/{n}/resend", None, False, {"platform", "staff", "admin"}),
    ("POST", "/v1/cases", {"program": PROGRAM, "applicant": applicant(50), "data": {}}, False, {"platform", "admin"}),
    ("GET", "/v1/cases", None, False, {"platform", "staff", "admin", "applicant"}),
    ("GET", "/v1/programs", None, False, {"platform", "staff", "admin", "applicant"}),
    ("GET", "/v1/programs/" + PROGRAM, None, False, {"platform", "staff", "admin", "applicant"}),
    (
        "POST",
        "/v1/programs/shenzhen-training-voucher-2024/batches",
        {"event": "accept", "count": 1},
        False,
        {"staff", "admin"},
    ),
    ("GET", "/v1/webhooks", None, False, {"admin"}),
    ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "secret": "s" * 16}, False, {"admin"}),
]


@pytest.fixture
def world(api: Api) -> Api:
    with api.client("platform") as http:
        for serial in (1, 2):
            case = http.post(
                "/v1/cases", json={"program": PROGRAM, "applicant": applicant(serial), "data": complete_data()}
            ).json()
            http.post(f"/v1/cases/{case['id']}/events", json={"event": "submit"})
    with api.client("staff") as staff:
        for case_id in (OWN, OTHER):  # awaiting paper: each case has an open deadline of its own
            staff.post(
                f"/v1/cases/{case_id}/override",
                json={"target_state": "awaiting_paper", "reason": "set-up"},
                headers={"If-Match": '"2"'},
            )
    return api


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(world: Api, role: str) -> None:
    wrong = [problem for endpoint in ENDPOINTS for problem in _check(world, role, *endpoint)]
    assert wrong == []


def _check(
    world: Api,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    needs_if_match: bool,
    allowed: set[str],
) -> list[tuple[object, ...]]:
    wrong: list[tuple[object, ...]] = []
    for case_id in (OWN, OTHER):
        with world.client("staff") as staff:
            case = staff.get(f"/v1/cases/{case_id}").json()
            notice = staff.get(f"/v1/cases/{case_id}/notices").json()[0]["id"]
        deadline = case["deadlines"][0]["id"] if case["deadlines"] else 1
        url = path.format(c=case_id, d=deadline, n=notice)
        headers = {"If-Match": f'"{case["version"]}"'} if needs_if_match else {}
        with world.client(role) as http:
            response = http.request(method, url, json=body, headers=headers)
        applicant_role = role in ("applicant", "other_applicant")
        own = (case_id == OWN) == (role == "applicant")
        role_allowed = ("applicant" if applicant_role else role) in allowed
        if not role_allowed:
            expected = {403}  # refused by role before any case is looked at: reveals nothing
        elif "{c}" in path and applicant_role and not own:
            expected = {404}  # another applicant's case: its existence is not revealed
        else:
            expected = set(range(200, 300)) | {409, 422}  # allowed; the engine may still refuse on the merits
        if response.status_code not in expected:
            wrong.append((role, method, url, response.status_code, response.text[:200]))
    return wrong
