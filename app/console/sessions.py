"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie, and a CSRF token per session.

Signing in exchanges a staff or admin API token for a session cookie carrying the token's
id, an expiry and a random nonce, signed with HMAC; every request re-checks that the
token is still active, so revoking a token ends its sessions. Every form carries a CSRF
token derived from the session (HMAC of its nonce), checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.api.auth import Caller
from workflow.tables import api_tokens

COOKIE = "filingflow_console"
LIFETIME = timedelta(hours=8)
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


def read(database: sa.Engine, secret: bytes, cookie: str | None, now: datetime) -> Session | None:
    """The session a cookie proves, if it is authentic, unexpired and its token still active."""
    if not cookie or cookie.count(".") != 3:
        return None
    payload, _, signature = cookie.rpartition(".")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        return None
    token_id, expires, nonce = payload.split(".")
    if not token_id.isdigit() or not expires.isdigit() or int(expires) < now.timestamp():
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
