"""A console session cannot be forged (issue 13 item 1): not with the old default key, not with the signing key.

Before, the session cookie was ``token_id.expires.nonce.HMAC(key, ...)`` with the key derived from a
default audit key printed in the source: five lines built a staff session. Now the signature also
covers the token's stored hash, which never leaves the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import httpx
import sqlalchemy as sa

from app.api import create_app
from app.keys import ConsoleKeys
from app.tables import api_tokens
from tests.console.conftest import KEYS, Console
from tests.support.http import serving

OLD_DEFAULT_AUDIT_KEY = b"filingflow-development-audit-key-do-not-use-in-production"  # what the source once held


def _staff_token_id(console: Console) -> int:
    with console.engine.database.connect() as conn:
        return int(conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.name == "staff-console")).scalar_one())


def _payload(console: Console, token_id: int) -> str:
    expires = int((console.engine.clock.now() + timedelta(hours=1)).timestamp())
    return f"{token_id}.{expires}.{secrets.token_hex(16)}"


def _queue_with(console: Console, cookie: str) -> int:
    with httpx.Client(base_url=console.base, follow_redirects=False) as http:
        http.cookies.set("filingflow_console", cookie, path="/console")
        return http.get("/console/queue").status_code


def test_a_cookie_forged_with_the_old_default_key_is_refused(console: Console) -> None:
    old_key = hmac.new(OLD_DEFAULT_AUDIT_KEY, b"filingflow-console-sessions", hashlib.sha256).digest()
    for token_id in range(1, 6):  # every small id, the staff one among them
        payload = _payload(console, token_id)
        forged = f"{payload}.{hmac.new(old_key, payload.encode(), hashlib.sha256).hexdigest()}"
        assert _queue_with(console, forged) == 303, token_id


def test_the_signing_key_and_a_guessed_token_id_are_not_enough(console: Console) -> None:
    token_id = _staff_token_id(console)
    payload = _payload(console, token_id)
    for signed in (
        payload,  # the old scheme, with today's real key
        f"session:{payload}:",  # the new scheme without the token's hash
        f"session:{payload}:{hashlib.sha256(b'ff_guessed').hexdigest()}",  # with a guessed token
    ):
        forged = f"{payload}.{hmac.new(KEYS.session, signed.encode(), hashlib.sha256).hexdigest()}"
        assert _queue_with(console, forged) == 303, signed
    with console.signed_in() as http:  # control: a real sign-in passes
        assert http.get("/console/queue").status_code == 200


def test_rotating_the_session_secret_signs_everyone_out_and_nothing_else(console: Console) -> None:
    rotated = ConsoleKeys.derive(b"a-new-session-secret", b"console-test-csrf-secret")
    assert rotated.csrf == KEYS.csrf
    with console.signed_in() as http, serving(create_app(console.engine, console_keys=rotated)) as other:
        cookie = http.cookies.get("filingflow_console", path="/console")
        assert cookie is not None
        with httpx.Client(base_url=other, follow_redirects=False) as after:
            after.cookies.set("filingflow_console", cookie, path="/console")
            assert after.get("/console/queue").status_code == 303, "signed out by the rotation"
            bearer = {"Authorization": f"Bearer {console.tokens['staff']}"}
            assert after.get("/v1/cases", headers=bearer).status_code == 200, "API tokens unaffected"
            assert console.sign_in(after, console.tokens["staff"]).status_code == 303, "signing in again works"


def test_rotating_the_csrf_secret_keeps_sessions_and_refuses_old_forms(console: Console) -> None:
    rotated = ConsoleKeys.derive(b"console-test-session-secret", b"a-new-csrf-secret")
    with console.signed_in() as http, serving(create_app(console.engine, console_keys=rotated)) as other:
        old_form_token = console.csrf(http)
        cookie = http.cookies.get("filingflow_console", path="/console")
        assert cookie is not None
        with httpx.Client(base_url=other, follow_redirects=False) as after:
            after.cookies.set("filingflow_console", cookie, path="/console")
            assert after.get("/console/queue").status_code == 200, "still signed in"
            assert after.post("/console/logout", data={"csrf": old_form_token}).status_code == 403
