"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie, and a CSRF token per session.

Signing in exchanges a staff or admin API token for a session cookie carrying the token's
id, an expiry and a random nonce, signed with HMAC under the session key *over the token's
stored hash as well*: the hash never leaves the server, so the signing key alone cannot forge
a session (a leaked key plus a guessed token id is refused). Every request re-checks that the
token is still active, so revoking a token ends its sessions. Every form carries a CSRF
token derived from the session nonce under the separate CSRF key, checked on every POST.
Comparisons are on bytes (:func:`app.parsing.same`) and numbers strict ASCII digits, so an
odd cookie is refused, never a 500.

The sign-in form has no session yet, so it is protected by a pre-session token (against
login CSRF: a forged POST that signs a reviewer in as someone else): showing the form sets
a short-lived signed cookie (``SameSite=Strict``, path ``/console/login``) and puts the HMAC
of its nonce in the form; a POST without both, or with a mismatch, is refused.

Signing out records the session in :class:`Revocations` (the ``console_signouts`` table)
as well as deleting the cookie, so a copied cookie stops working at once, in every API
process and across restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.api.auth import Caller
from app.keys import ConsoleKeys
from app.parsing import same, whole
from app.tables import api_tokens, console_signouts
from workflow.database import read_only

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

    def csrf(self, keys: ConsoleKeys) -> str:
        return _sign(keys.csrf, f"csrf:{self.nonce}")


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _session_mac(keys: ConsoleKeys, payload: str, stored_token_hash: str) -> str:
    return _sign(keys.session, f"session:{payload}:{stored_token_hash}")


def issue(keys: ConsoleKeys, caller: Caller, stored_token_hash: str, now: datetime) -> str:
    """A session cookie for ``caller``, bound to its token's stored hash (known only to the server)."""
    payload = f"{caller.token_id}.{int((now + LIFETIME).timestamp())}.{secrets.token_hex(16)}"
    return f"{payload}.{_session_mac(keys, payload, stored_token_hash)}"


class Revocations:
    """Sessions signed out before their expiry, kept in the database so every process honours them.

    Only a hash of each nonce is stored; rows past their session's expiry are deleted as
    new ones arrive (the cookie would be refused by then anyway).
    """

    def __init__(self, database: sa.Engine) -> None:
        self._database = database

    def revoke(self, session: Session, now: datetime) -> None:
        with self._database.begin() as conn:
            conn.execute(console_signouts.delete().where(console_signouts.c.expires_at < now))
            conn.execute(
                console_signouts.insert().values(
                    nonce_hash=_nonce_hash(session.nonce),
                    expires_at=datetime.fromtimestamp(session.expires, UTC),  # noqa: TID251 - a stored instant
                    signed_out_at=now,
                )
            )

    def __repr__(self) -> str:
        return f"Revocations({self._database.url.render_as_string(hide_password=True)!r})"


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def read(database: sa.Engine, keys: ConsoleKeys, cookie: str | None, now: datetime) -> Session | None:
    """The session a cookie proves, if it is authentic, unexpired, not signed out and its token still active.

    One read: the token's row (with the hash the signature covers), found only while the token is
    active and the session not signed out.
    """
    if not cookie or len(cookie) > 200 or cookie.count(".") != 3:
        return None
    payload, _, signature = cookie.rpartition(".")
    raw_id, raw_expires, nonce = payload.split(".")
    token_id, expires = whole(raw_id, minimum=1), whole(raw_expires, maximum=2**40)
    if token_id is None or expires is None or expires < now.timestamp():
        return None
    signed_out = sa.select(console_signouts.c.nonce_hash).where(console_signouts.c.nonce_hash == _nonce_hash(nonce))
    query = sa.select(api_tokens).where(
        api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None), ~signed_out.exists()
    )
    with read_only(database) as conn:
        row = conn.execute(query).mappings().first()
    if row is None or not same(_session_mac(keys, payload, row["token_hash"]), signature):
        return None
    if row["role"] not in CONSOLE_ROLES:
        return None
    caller = Caller(row["id"], row["name"], row["role"], row["applicant_code"], "console")
    return Session(caller, nonce, expires)


def csrf_ok(session: Session, keys: ConsoleKeys, token: str | None) -> bool:
    return bool(token) and same(session.csrf(keys), token)


def login_challenge(keys: ConsoleKeys, now: datetime) -> tuple[str, str]:
    """A pre-session cookie value and the form token that must come back with it."""
    cookie = f"{int((now + LOGIN_LIFETIME).timestamp())}.{secrets.token_hex(16)}"
    return cookie, _sign(keys.csrf, f"login-csrf:{cookie}")


def login_csrf_ok(keys: ConsoleKeys, cookie: str | None, token: str | None, now: datetime) -> bool:
    """Whether a sign-in POST carries the pre-session cookie, unexpired, and its matching form token."""
    if not cookie or not token or len(cookie) > 100 or cookie.count(".") != 1:
        return False
    expires = whole(cookie.partition(".")[0], maximum=2**40)
    if expires is None or expires < now.timestamp():
        return False
    return same(_sign(keys.csrf, f"login-csrf:{cookie}"), token)
