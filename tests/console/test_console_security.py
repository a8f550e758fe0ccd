"""Console authorisation: staff only, session cookie flags, CSRF on every form."""

from __future__ import annotations

import httpx
import pytest

from tests.console.conftest import Console
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data

GET_ROUTES = [
    "/console/queue",
    "/console/cases/1",
    "/console/rounds",
    f"/console/rounds/{PROGRAM}/cases.csv",
    f"/console/rounds/{PROGRAM}/publicity.csv",
]
FORMS = [
    ("/console/cases/1/events", {"event": "submit"}),
    ("/console/cases/1/override", {"target": "online_review", "reason": "x", "action": "confirm"}),
    ("/console/cases/1/deadlines/1/extend", {"working_days": "1", "reason": "x"}),
    ("/console/cases/1/deadlines/1/suspend", {"reason": "x"}),
    ("/console/batch", {"program": PROGRAM, "event": "submit", "case_ids": "1"}),
    ("/console/logout", {}),
]


@pytest.fixture
def case(console: Console) -> int:
    case_id = console.engine.open_case(PROGRAM, applicant=applicant(1), data=complete_data(), actor=PLATFORM).id
    console.engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id


@pytest.mark.parametrize("role", ["applicant", "platform"])
def test_applicant_and_platform_tokens_cannot_sign_in_or_use_any_route(console: Console, case: int, role: str) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        refused = http.post("/console/login", data={"token": console.tokens[role]})
        assert refused.status_code == 403
        assert "filingflow_console" not in refused.headers.get("set-cookie", "")
        bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
        for path in GET_ROUTES:
            assert http.get(path, headers=bearer).status_code == 403, path
        for path, form in FORMS:
            assert http.post(path, data=form, headers=bearer).status_code == 403, path


def test_without_a_session_pages_redirect_to_sign_in_and_forms_are_refused(console: Console, case: int) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        for path in GET_ROUTES:
            response = http.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/console/login"), path
        for path, form in FORMS:
            assert http.post(path, data=form).status_code == 403, path


def test_session_cookie_is_httponly_and_strict(console: Console) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        response = http.post("/console/login", data={"token": console.tokens["staff"]})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie


def test_every_form_refuses_a_missing_or_wrong_csrf_token(console: Console, case: int) -> None:
    engine = console.engine
    before = engine.get_case(case).version
    with console.signed_in() as http:
        for path, form in FORMS:
            assert http.post(path, data=form).status_code == 403, path
            assert http.post(path, data={**form, "csrf": "forged"}).status_code == 403, path
        token = console.csrf(http)
        accepted = http.post(f"/console/cases/{case}/events", data={"event": "pass_online_review", "csrf": token})
        assert accepted.status_code == 303
        assert "error" not in accepted.headers["location"]
    assert engine.get_case(case).version == before + 1, "only the request with the CSRF token acted"


def test_revoking_the_token_ends_its_sessions(console: Console) -> None:
    from app.api.auth import revoke_token

    with console.signed_in() as http:
        assert http.get("/console/queue").status_code == 200
        revoke_token(console.engine.database, name="staff-console", now=console.engine.clock.now())
        assert http.get("/console/queue").status_code == 303
