"""Settings from the environment, read once by the composition root and passed down.

Nothing else reads ``os.environ``: tests and tools build :class:`Settings` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.parsing import whole

DEFAULT_DATABASE_URL = "sqlite:///./var/filingflow.db"


class SettingsError(ValueError):
    """A configuration value is malformed or unsafe; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # secrets have no default: unset ones are generated on SQLite and refused elsewhere (app.keys)
    audit_key: str | None = None
    session_key: str | None = None
    csrf_key: str | None = None
    database_url_from_env: bool = False
    clock_start: datetime | None = None
    worker_interval: float = 30.0
    var_dir: str = "var"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "FilingFlow <noreply@filingflow.local>"
    sms_gateway_url: str | None = None
    sms_gateway_secret: str | None = None
    staff_email: str = "staff@filingflow.local"
    outbox_max_attempts: int = 8
    outbox_lease_seconds: float = 120.0
    calendar_package_until: int | None = None
    programs: str | None = None
    db_pool_size: int = 5
    db_max_overflow: int = 10
    outbox_batch: int = 200
    outbox_commit_every: int = 1
    smtp_ca_file: str | None = None
    console_secure_cookie: bool = False  # mark console cookies Secure: turn on when served over HTTPS
    log_format: str = "text"  # text, json or logfmt (app.logging_setup)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        url = _database_url(env.get("FILINGFLOW_DATABASE_URL", "").strip())
        return cls(
            database_url=url or DEFAULT_DATABASE_URL,
            audit_key=_secret(env, "FILINGFLOW_AUDIT_KEY"),
            session_key=_secret(env, "FILINGFLOW_SESSION_KEY"),
            csrf_key=_secret(env, "FILINGFLOW_CSRF_KEY"),
            database_url_from_env=bool(url),
            clock_start=_sandbox_start(env),
            worker_interval=_positive(env, "FILINGFLOW_WORKER_INTERVAL", 30.0),
            var_dir=env.get("FILINGFLOW_VAR_DIR", "").strip() or "var",
            smtp_host=env.get("FILINGFLOW_SMTP_HOST", "").strip() or None,
            smtp_port=_int(env, "FILINGFLOW_SMTP_PORT", 25, maximum=65535),
            smtp_tls=_choice(env, "FILINGFLOW_SMTP_TLS", ("none", "starttls", "ssl"), "none"),
            smtp_username=env.get("FILINGFLOW_SMTP_USERNAME", "").strip() or None,
            smtp_password=env.get("FILINGFLOW_SMTP_PASSWORD") or None,
            mail_from=env.get("FILINGFLOW_MAIL_FROM", "").strip() or "FilingFlow <noreply@filingflow.local>",
            sms_gateway_url=env.get("FILINGFLOW_SMS_GATEWAY_URL", "").strip() or None,
            sms_gateway_secret=env.get("FILINGFLOW_SMS_GATEWAY_SECRET") or None,
            staff_email=env.get("FILINGFLOW_STAFF_EMAIL", "").strip() or "staff@filingflow.local",
            outbox_max_attempts=_int(env, "FILINGFLOW_OUTBOX_MAX_ATTEMPTS", 8),
            outbox_lease_seconds=_positive(env, "FILINGFLOW_OUTBOX_LEASE_SECONDS", 120.0),
            calendar_package_until=_year(env, "FILINGFLOW_CALENDAR_PACKAGE_UNTIL"),
            programs=env.get("FILINGFLOW_PROGRAMS", "").strip() or None,
            db_pool_size=_int(env, "FILINGFLOW_DB_POOL_SIZE", 5),
            db_max_overflow=_int(env, "FILINGFLOW_DB_MAX_OVERFLOW", 10, minimum=0),
            outbox_batch=_int(env, "FILINGFLOW_OUTBOX_BATCH", 200),
            outbox_commit_every=_int(env, "FILINGFLOW_OUTBOX_COMMIT_EVERY", 1),
            smtp_ca_file=env.get("FILINGFLOW_SMTP_CA_FILE", "").strip() or None,
            console_secure_cookie=_choice(env, "FILINGFLOW_CONSOLE_SECURE_COOKIE", ("0", "1", "false", "true"), "0")
            in ("1", "true"),
            log_format=_choice(env, "FILINGFLOW_LOG_FORMAT", ("text", "json", "logfmt"), "text"),
        )


def _sandbox_start(env: Mapping[str, str]) -> datetime | None:
    """``FILINGFLOW_CLOCK_START`` moves the clock, and only together with ``FILINGFLOW_SANDBOX=1``."""
    raw = env.get("FILINGFLOW_CLOCK_START", "").strip()
    if not raw:
        return None
    if env.get("FILINGFLOW_SANDBOX", "").strip() != "1":
        raise SettingsError(
            "FILINGFLOW_CLOCK_START is set but FILINGFLOW_SANDBOX is not 1: a moved clock is refused "
            "outside a sandbox so it never reaches a production database"
        )
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"FILINGFLOW_CLOCK_START={raw!r} is not an ISO 8601 date-time") from None
    if start.tzinfo is None:
        raise SettingsError("FILINGFLOW_CLOCK_START needs a UTC offset, e.g. 2025-08-20T09:00:00+08:00")
    return start


URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/database"


def _database_url(raw: str) -> str:
    """``FILINGFLOW_DATABASE_URL`` checked: SQLite or PostgreSQL through psycopg 3 (``postgresql://`` means that)."""
    if not raw:
        return raw
    try:
        url = make_url(raw)
    except sa.exc.ArgumentError:
        raise SettingsError(f"FILINGFLOW_DATABASE_URL is not a database URL: write {URL_FORMS}") from None
    if url.drivername in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        return raw
    if url.drivername in ("postgresql", "postgres"):  # the usual form: taken as psycopg 3, which FilingFlow ships
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise SettingsError(
        f"FILINGFLOW_DATABASE_URL uses {url.drivername!r}, which FilingFlow does not support: write {URL_FORMS}"
    )


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from ``NAME`` or from the file ``NAME_FILE`` names (not both); ``None`` when neither is set."""
    value, file = env.get(name, "").strip(), env.get(f"{name}_FILE", "").strip()
    if value and file:
        raise SettingsError(f"{name} and {name}_FILE are both set: give the secret one way")
    if not file:
        return value or None
    try:
        value = Path(file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{name}_FILE={file!r} cannot be read: {exc.__class__.__name__}") from None
    if not value:
        raise SettingsError(f"{name}_FILE={file!r} is empty")
    return value


def _year(env: Mapping[str, str], name: str) -> int | None:
    return _int(env, name, 0, minimum=2000, maximum=2200) or None


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise SettingsError(f"{name}={value!r} must be one of {', '.join(allowed)}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = whole(raw, minimum=minimum, maximum=10**9 if maximum is None else maximum)
    if value is None:
        bounds = f"{minimum}..{maximum}" if maximum is not None else f"{minimum} or more"
        raise SettingsError(f"{name}={raw!r} must be a whole number, {bounds}")
    return value
