"""Bearer tokens: created by ``filingflow tokens create``, stored as SHA-256, revocable.

Roles: ``platform`` (a filing platform backend: opens cases, fires applicant-side events
on an applicant's behalf, reads all), ``staff`` (review events, overrides, deadline
changes, reads all), ``applicant`` (reads and acts on its own cases only: another
applicant's case answers 404), ``admin`` (staff rights plus webhooks), ``metrics`` (reads
``/metrics`` and nothing else: a Prometheus scraper's token, refused by every other route).

The API looks tokens up through a :class:`TokenCache`: a token found valid is trusted for
:data:`CACHE_SECONDS` (by the service's clock) before it is looked up again, so a
revocation takes effect within that time; unknown and revoked tokens are never cached.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.request_context import current_request_id
from app.tables import api_tokens
from workflow.applicants import validate_uscc
from workflow.clock import Clock
from workflow.database import read_only
from workflow.definition import Actor
from workflow.errors import CaseNotFound, InvalidInput
from workflow.views import CaseSnapshot

CASE_ROLES = ("platform", "staff", "applicant", "admin")  # the roles that may use the API's routes
TOKEN_ROLES = (*CASE_ROLES, "metrics")
METRICS_ROLES = ("metrics", "admin")  # who may scrape /metrics
PREFIX = "ff_"
CACHE_SECONDS = 2
CACHE_SIZE = 1024


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the token's id, name and role (and, for applicants, their code)."""

    token_id: int
    name: str
    role: str
    applicant_code: str | None
    via: str = "http"

    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.via, request_id=current_request_id())

    @property
    def staff(self) -> bool:
        return self.role in ("staff", "admin")


def create_token(
    database: sa.Engine, *, name: str, role: str, applicant_code: str | None, now: datetime
) -> tuple[int, str]:
    """Store a new token (hashed) and return its id and the token, shown once."""
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(TOKEN_ROLES)}", field="role")
    if not name.strip() or len(name) > 200:
        raise InvalidInput("token name is required (at most 200 characters)", field="name")
    if role == "applicant":
        if not applicant_code:
            raise InvalidInput("an applicant token needs --applicant-code", field="applicant_code")
        applicant_code = validate_uscc(applicant_code, field="applicant_code")
    elif applicant_code:
        raise InvalidInput("only applicant tokens carry an applicant code", field="applicant_code")
    token = PREFIX + secrets.token_urlsafe(32)
    with database.begin() as conn:
        if conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.name == name)).first():
            raise InvalidInput(f"a token named {name!r} exists", field="name")
        inserted = conn.execute(
            api_tokens.insert().values(
                name=name, role=role, applicant_code=applicant_code, token_hash=token_hash(token), created_at=now
            )
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0]), token


def revoke_token(database: sa.Engine, *, name: str, now: datetime) -> bool:
    with database.begin() as conn:
        updated = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(updated.rowcount)


def ensure_visible(caller: Caller, case: CaseSnapshot) -> CaseSnapshot:
    """The case if this caller may see it; another applicant's case is 404, never 403 (OWASP API1)."""
    if caller.role == "applicant" and case.applicant.code != caller.applicant_code:
        raise CaseNotFound(f"no case {case.id}", case_id=case.id, field="case_id")
    return case


def _well_formed(token: str) -> bool:
    return token.startswith(PREFIX) and len(token) <= 200


def resolve(database: sa.Engine, token: str) -> Caller | None:
    """The caller a token stands for, or ``None`` if it is unknown or revoked (always asks the database)."""
    if not _well_formed(token):
        return None
    with read_only(database) as conn:  # a read: on SQLite it must not queue behind writers
        row = (
            conn.execute(
                sa.select(api_tokens).where(
                    api_tokens.c.token_hash == token_hash(token), api_tokens.c.revoked_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return Caller(row["id"], row["name"], row["role"], row["applicant_code"])


class TokenCache:
    """Valid tokens remembered for :data:`CACHE_SECONDS`: one lookup per token and interval, not per request.

    Only positive answers are kept, keyed by the token's hash; a revoked token is refused
    at most :data:`CACHE_SECONDS` after its revocation, an unknown one at once.
    """

    def __init__(self, database: sa.Engine, clock: Clock) -> None:
        self.database, self.clock, self.ttl = database, clock, timedelta(seconds=CACHE_SECONDS)
        self._known: dict[str, tuple[Caller, datetime]] = {}  # token hash -> (caller, when looked up)
        self._lock = threading.Lock()

    def resolve(self, token: str) -> Caller | None:
        if not _well_formed(token):
            return None
        key, now = token_hash(token), self.clock.now()
        with self._lock:
            known = self._known.get(key)
        if known is not None and known[1] <= now < known[1] + self.ttl:  # a clock set back re-checks too
            return known[0]
        caller = resolve(self.database, token)
        with self._lock:
            if caller is None:
                self._known.pop(key, None)
            else:
                if len(self._known) >= CACHE_SIZE:
                    self._known.clear()
                self._known[key] = (caller, now)
        return caller
