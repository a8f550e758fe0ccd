"""The console's Secure cookie flag: off by default (plain http on 127.0.0.1), on by environment behind HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.api import create_app
from tests.console.conftest import KEYS, form_token
from tests.support.http import serving
from workflow.engine import Engine


@pytest.fixture
def secure_console(engine: Engine) -> Iterator[tuple[str, str]]:
    from app.api.auth import create_token

    _, token = create_token(engine.database, name="staff", role="staff", applicant_code=None, now=engine.clock.now())
    with serving(create_app(engine, console_keys=KEYS, console_secure_cookie=True)) as base:
        yield base, token


def _cookies(response: httpx.Response) -> dict[str, str]:
    return {h.partition("=")[0]: h.lower() for h in response.headers.get_list("set-cookie")}


def test_create_app_passes_the_flag_to_every_console_cookie(secure_console: tuple[str, str]) -> None:
    base, token = secure_console
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        form = http.get("/console/login")
        assert "secure" in _cookies(form)["filingflow_console_login"]
        csrf = form_token(form.text)
        # httpx, like a browser, keeps a Secure cookie off plain http: hand the pre-session cookie back ourselves
        challenge = form.cookies["filingflow_console_login"]
        signed_in = http.post(
            "/console/login",
            data={"token": token, "csrf": csrf},
            headers={"Cookie": f"filingflow_console_login={challenge}"},
        )
        assert signed_in.status_code == 303
        session = _cookies(signed_in)["filingflow_console"]
        assert "secure" in session
        assert "httponly" in session
        assert "samesite=strict" in session
        cookie = {"Cookie": f"filingflow_console={signed_in.cookies['filingflow_console']}"}
        page = http.get("/console/queue", headers=cookie).text
        refused = http.post("/console/batch", data={"csrf": form_token(page)}, headers=cookie)
        assert refused.status_code == 303
        assert "secure" in _cookies(refused)["filingflow_console_flash"], "the one-shot message cookie too"
