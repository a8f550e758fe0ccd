"""The console's Secure cookie flag: off by default (plain http on 127.0.0.1), on by environment behind HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.api import create_app
from app.settings import Settings, SettingsError
from tests.console.conftest import SECRET
from tests.support.http import serving
from workflow.engine import Engine


def test_secure_cookie_is_off_unless_the_environment_turns_it_on() -> None:
    assert Settings.from_env({}).console_secure_cookie is False
    assert Settings.from_env({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "0"}).console_secure_cookie is False
    assert Settings.from_env({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "1"}).console_secure_cookie is True
    assert Settings.from_env({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "true"}).console_secure_cookie is True


def test_a_malformed_secure_cookie_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="FILINGFLOW_CONSOLE_SECURE_COOKIE"):
        Settings.from_env({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "sometimes"})


@pytest.fixture
def secure_console(engine: Engine) -> Iterator[tuple[str, str]]:
    from app.api.auth import create_token

    _, token = create_token(engine.database, name="staff", role="staff", applicant_code=None, now=engine.clock.now())
    with serving(create_app(engine, console_secret=SECRET, console_secure_cookie=True)) as base:
        yield base, token


def _cookies(response: httpx.Response) -> dict[str, str]:
    return {h.partition("=")[0]: h.lower() for h in response.headers.get_list("set-cookie")}


def test_create_app_passes_the_flag_to_every_console_cookie(secure_console: tuple[str, str]) -> None:
    base, token = secure_console
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        form = http.get("/console/login")
        assert "secure" in _cookies(form)["filingflow_console_login"]
        marker = 'name="csrf" value="'
        start = form.text.index(marker) + len(marker)
        csrf = form.text[start : form.text.index('"', start)]
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
        start = page.index(marker) + len(marker)
        refused = http.post("/console/batch", data={"csrf": page[start : page.index('"', start)]}, headers=cookie)
        assert refused.status_code == 303
        assert "secure" in _cookies(refused)["filingflow_console_flash"], "the one-shot message cookie too"
