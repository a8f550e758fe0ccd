"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie, and a CSRF token per session.

Signing in exchanges a staff or admin API token for a session cookie carrying the token's
id, an expiry and a random nonce, signed with HMAC; every request re-checks that the
token is still active, so revoking a token ends its sessions. Every form carries a CSRF
token derived from the session (HMAC of its nonce), checked on every POST.

The sign-in form has no session yet, so it is protected by a pre-session token (against
login CSRF: a forged POST that signs a reviewer in as someone else): showing the form sets
a short-lived signed cookie (``SameSite=Strict``, path ``/console/login``) and puts the HMAC
of its nonce in the form; a POST without both, or with a mismatch, is refused.

Signing out revokes the session's nonce in :class:`Revocations` as well as deleting the
cookie, so a copied cookie stops working at once. The list lives in the serving process
(the schema has no table for it): it is exact for one ``filingflow serve`` process, and a
restart or another API process does not know it. Such a cookie still dies at its expiry
(8 hours) or when its token is revoked. A shared table (``console_sessions``, through an
Alembic migration) would close that gap; see the README.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.api.auth import Caller
from workflow.tables import api_tokens

COOKIE = "filingflow_console"
LOGIN_COOKIE = "filingflow_console_login"
LIFETIME = timedelta(hours=8)
LOGIN_LIFETIME = timedelta(hours=1)
CONSOLE_ROLES = ("staff", "admin")


@dataclass(frozen=True, slots=True)
class Session:
    caller: Caller
    nonce: str
    expires: int

    def csrf(self, secret: bytes) -> str:
        return hmac.new(secret, f"csrf:{self.nonce}".encode(), hashlib.sha256).hexdigest()


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def issue(secret: bytes, token_id: int, now: datetime) -> str:
    payload = f"{token_id}.{int((now + LIFETIME).timestamp())}.{secrets.token_hex(16)}"
    return f"{payload}.{_sign(secret, payload)}"


class Revocations:
    """Session nonces signed out before their expiry, forgotten once they would have expired anyway."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}
        self._lock = threading.Lock()

    def revoke(self, session: Session, now: datetime) -> None:
        with self._lock:
            self._until = {n: t for n, t in self._until.items() if t >= now.timestamp()}
            self._until[session.nonce] = session.expires

    def __contains__(self, nonce: object) -> bool:
        with self._lock:
            return nonce in self._until

    def __repr__(self) -> str:
        return f"Revocations({len(self._until)} signed out)"


def read(
    database: sa.Engine, secret: bytes, cookie: str | None, now: datetime, *, revoked: Revocations
) -> Session | None:
    """The session a cookie proves, if it is authentic, unexpired, not signed out and its token still active."""
    if not cookie or cookie.count(".") != 3:
        return None
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    token_id, expires, nonce = payload.split(".")
    if not token_id.isdigit() or not expires.isdigit() or int(expires) < now.timestamp() or nonce in revoked:
        return None
    with database.connect() as conn:
        row = (
            conn.execute(
                sa.select(api_tokens).where(api_tokens.c.id == int(token_id), api_tokens.c.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    if row is None or row["role"] not in CONSOLE_ROLES:
        return None
    caller = Caller(row["id"], row["name"], row["role"], row["applicant_code"], "console")
    return Session(caller, nonce, int(expires))


def csrf_ok(session: Session, secret: bytes, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf(secret), token or "")


def login_challenge(secret: bytes, now: datetime) -> tuple[str, str]:
    """A pre-session cookie value and the form token that must come back with it."""
    cookie = f"{int((now + LOGIN_LIFETIME).timestamp())}.{secrets.token_hex(16)}"
    return cookie, _sign(secret, f"login-csrf:{cookie}")


def login_csrf_ok(secret: bytes, cookie: str | None, token: str | None, now: datetime) -> bool:
    """Whether a sign-in POST carries the pre-session cookie, unexpired, and its matching form token."""
    if not cookie or not token or cookie.count(".") != 1:
        return False
    expires = cookie.partition(".")[0]
    if not expires.isdigit() or int(expires) < now.timestamp():
        return False
    return hmac.compare_digest(_sign(secret, f"login-csrf:{cookie}"), token)
