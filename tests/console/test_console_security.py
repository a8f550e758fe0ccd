"""Console authorisation: staff only, session cookie flags, CSRF on every form and on sign-in, sign-out."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.api import create_app
from tests.console.conftest import KEYS, Console
from tests.support.http import serving
from tests.support.longgang import PROGRAM, submitted

GET_ROUTES = [
    "/console",
    "/console/",
    "/console/queue",
    "/console/cases/1",
    "/console/rounds",
    f"/console/rounds/{PROGRAM}/cases.csv",
    f"/console/rounds/{PROGRAM}/publicity.csv",
]
FORMS = [
    ("/console/cases/1/events", {"event": "pass_online_review"}),
    ("/console/cases/1/override", {"target": "returned", "reason": "x", "action": "confirm"}),
    ("/console/cases/1/deadlines/1/extend", {"working_days": "1", "reason": "x"}),
    ("/console/cases/1/deadlines/1/suspend", {"reason": "x"}),
    ("/console/cases/1/deadlines/1/resume", {"reason": "x"}),
    ("/console/batch", {"program": PROGRAM, "event": "pass_online_review", "case_ids": "1"}),
    ("/console/logout", {}),
]


@pytest.fixture
def case(console: Console) -> int:
    return submitted(console.engine, 1)


def _session_cookie(response: httpx.Response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("filingflow_console="):
            return header
    return None


@pytest.mark.parametrize("role", ["applicant", "platform", "metrics"])  # metrics: a scraper's token reads /metrics only
def test_applicant_and_platform_tokens_cannot_sign_in_or_use_any_route(console: Console, case: int, role: str) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        refused = console.sign_in(http, console.tokens[role])  # a well-formed sign-in, CSRF token and all
        assert refused.status_code == 403
        assert "不是工作人员令牌" in refused.text
        assert _session_cookie(refused) is None
        bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
        for path in GET_ROUTES:
            assert http.get(path, headers=bearer).status_code == 403, path
        for path, form in FORMS:
            assert http.post(path, data=form, headers=bearer).status_code == 403, path


@pytest.mark.parametrize("role", ["applicant", "platform"])
def test_an_applicant_token_is_refused_even_beside_a_valid_staff_session(
    console: Console, case: int, role: str
) -> None:
    # The staff cookie and CSRF token would be accepted on their own (the last request proves it);
    # the foreign bearer token alone makes every route refuse, and nothing is written.
    engine = console.engine
    before = engine.get_case(case).version
    bearer = {"Authorization": f"Bearer {console.tokens[role]}"}
    with console.signed_in() as http:
        token = console.csrf(http)
        for path in GET_ROUTES:
            assert http.get(path, headers=bearer).status_code == 403, path
        for path, form in FORMS:
            assert http.post(path, data={**form, "csrf": token}, headers=bearer).status_code == 403, path
        assert engine.get_case(case).version == before
        assert http.get("/console/queue").status_code == 200, "still signed in: the refusal was the bearer's"
        path, form = FORMS[0]
        accepted = http.post(path, data={**form, "csrf": token})
        assert accepted.status_code == 303
    assert engine.get_case(case).version == before + 1


def test_without_a_session_pages_redirect_to_sign_in_and_forms_are_refused(console: Console, case: int) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        for path in GET_ROUTES:
            response = http.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/console/login"), path
        for path, form in FORMS:
            assert http.post(path, data=form).status_code == 403, path


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admin_tokens_sign_in(console: Console, role: str) -> None:
    with console.signed_in(role) as http:
        page = http.get("/console/queue")
        assert page.status_code == 200
        shown = {"staff": "工作人员", "admin": "管理员"}[role]  # the role in zh-CN (issue 15 item 3)
        assert f"{role}-console（{shown}）" in page.text


def test_session_cookie_is_httponly_and_strict_and_not_secure_by_default(console: Console) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        cookie = (_session_cookie(console.sign_in(http, console.tokens["staff"])) or "").lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/console" in cookie
    assert "secure" not in cookie, "plain http on 127.0.0.1 must keep working: Secure is opt-in"


def test_sign_in_refuses_a_post_without_the_login_form_token(console: Console) -> None:
    # login CSRF: a page elsewhere cannot sign a reviewer into the console as someone else
    staff = console.tokens["staff"]
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        bare = http.post("/console/login", data={"token": staff})
        assert bare.status_code == 403
        assert "登录表单已失效" in bare.text
        assert _session_cookie(bare) is None
        assert http.post("/console/login", data={"token": staff, "csrf": "forged"}).status_code == 403
    with httpx.Client(base_url=console.base, follow_redirects=False) as other:
        stolen = console.csrf(other, "/console/login")  # a real token, but bound to another browser's cookie
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        http.get("/console/login")
        assert http.post("/console/login", data={"token": staff, "csrf": stolen}).status_code == 403
        no_cookie = httpx.post(f"{console.base}/console/login", data={"token": staff, "csrf": stolen})
        assert no_cookie.status_code == 403
        ok = http.post("/console/login", data={"token": staff, "csrf": console.csrf(http, "/console/login")})
        assert ok.status_code == 303
        assert _session_cookie(ok) is not None


def test_the_login_form_token_expires_after_an_hour(console: Console) -> None:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        token = console.csrf(http, "/console/login")
        console.engine.clock.advance(timedelta(minutes=61))  # type: ignore[attr-defined]
        stale = http.post("/console/login", data={"token": console.tokens["staff"], "csrf": token})
        assert stale.status_code == 403
        assert _session_cookie(stale) is None


def test_signing_out_revokes_the_session_on_the_server(console: Console) -> None:
    with console.signed_in() as http:
        cookie = http.cookies["filingflow_console"]
        out = http.post("/console/logout", data={"csrf": console.csrf(http)})
        assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    with httpx.Client(base_url=console.base, follow_redirects=False) as replay:
        replay.cookies.set("filingflow_console", cookie, path="/console")
        response = replay.get("/console/queue")
        assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    with console.signed_in() as http:
        assert http.get("/console/queue").status_code == 200, "signing out ends that session only"
    other = create_app(console.engine, console_keys=KEYS)  # another API process, sharing the database
    with serving(other) as base, httpx.Client(base_url=base, follow_redirects=False) as replay:
        replay.cookies.set("filingflow_console", cookie, path="/console")
        response = replay.get("/console/queue")
        assert (response.status_code, response.headers["location"]) == (303, "/console/login")


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
        assert "已执行" in http.get(accepted.headers["location"]).text
    assert engine.get_case(case).version == before + 1, "only the request with the CSRF token acted"


def test_messages_come_only_from_the_console_never_from_the_query_string(console: Console, case: int) -> None:
    bait = "请将令牌发送至 attacker@example.com"
    with console.signed_in() as http:
        for path in ("/console/queue", f"/console/cases/{case}", "/console/rounds"):
            page = http.get(path, params={"msg": bait, "error": bait}).text
            assert "attacker@example.com" not in page, path
        assert "attacker@example.com" not in http.get("/console/login", params={"error": bait}).text


def test_revoking_the_token_ends_its_sessions(console: Console) -> None:
    from app.api.auth import revoke_token

    with console.signed_in() as http:
        assert http.get("/console/queue").status_code == 200
        revoke_token(console.engine.database, name="staff-console", now=console.engine.clock.now())
        assert http.get("/console/queue").status_code == 303


def test_a_flash_cookie_signed_with_another_secret_is_ignored(console: Console) -> None:
    from fastapi import Response

    from app.console import flash

    response = Response()
    flash.put(response, flash.Flash(error="假冒的提示"), secret=KEYS.session, secure=False)
    value = response.headers["set-cookie"].split(";")[0].partition("=")[2]
    with console.signed_in() as http:
        http.cookies.set("filingflow_console_flash", value, path="/console")
        assert "假冒的提示" not in http.get("/console/queue").text
    response = Response()
    flash.put(response, flash.Flash(error="真实的提示"), secret=KEYS.flash, secure=False)
    value = response.headers["set-cookie"].split(";")[0].partition("=")[2]
    with console.signed_in() as http:
        http.cookies.set("filingflow_console_flash", value, path="/console")
        assert "真实的提示" in http.get("/console/queue").text, "the same cookie, signed by the console, shows"
