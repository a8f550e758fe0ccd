"""Settings from the environment, read once by the composition root and passed down.

Nothing else reads ``os.environ``: tests and tools build :class:`Settings` directly (it is a plain
frozen dataclass, so ``dataclasses.replace`` works and building one never looks at the process
environment). :meth:`Settings.from_env` reads ``FILINGFLOW_*`` variables from the environment and
from a ``.env`` file through pydantic-settings (``_Environment`` below), checks every one, and
reports every bad variable in one :class:`SettingsError`, so an operator fixes them all in one go
instead of one per start.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BeforeValidator, Field, StringConstraints, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url

from workflow.idempotency import MIN_RETENTION

DEFAULT_DATABASE_URL = "sqlite:///./var/filingflow.db"
DEFAULT_ENV_FILE = ".env"
PSYCOPG_PREPARE_THRESHOLD = 5  # psycopg 3's own default
MIN_RETENTION_HOURS = int(MIN_RETENTION.total_seconds()) // 3600  # the replay window the API promises
URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/database"


class SettingsError(ValueError):
    """A configuration value is malformed or unsafe; the message names the variable (every one, when several)."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (message,)

    @classmethod
    def listing(cls, problems: list[str]) -> SettingsError:
        """One error for every bad variable: ``FILINGFLOW_A=...: why`` a line each."""
        if len(problems) == 1:
            return cls(problems[0], problems)
        return cls(f"{len(problems)} bad configuration variables:\n  " + "\n  ".join(problems), problems)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # secrets have no default: unset ones are generated on SQLite and refused elsewhere (app.keys)
    audit_key: str | None = field(default=None, repr=False)
    session_key: str | None = field(default=None, repr=False)
    csrf_key: str | None = field(default=None, repr=False)
    database_url_from_env: bool = False
    clock_start: datetime | None = None
    clock_rate: float | None = None  # sandbox only: sandbox seconds per real second (app/sandbox.py)
    worker_interval: float = 30.0
    var_dir: str = "var"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    mail_from: str = "FilingFlow <noreply@filingflow.local>"
    sms_gateway_url: str | None = None
    sms_gateway_secret: str | None = field(default=None, repr=False)
    staff_email: str = "staff@filingflow.local"
    outbox_max_attempts: int = 8
    outbox_lease_seconds: float = 120.0
    calendar_package_until: int | None = None
    programs: str | None = None
    db_pool_size: int = 5
    db_max_overflow: int = 10
    # psycopg prepares a statement on the server at its Nth run; None = never (PgBouncer in transaction mode)
    db_prepare_threshold: int | None = PSYCOPG_PREPARE_THRESHOLD
    outbox_batch: int = 200
    outbox_commit_every: int = 1
    smtp_ca_file: str | None = None
    console_secure_cookie: bool = False  # mark console cookies Secure: turn on when served over HTTPS
    log_format: str = "text"  # text, json or logfmt (app.logging_setup)
    idempotency_retention_hours: int = MIN_RETENTION_HOURS  # keys (engine and HTTP) are purged once this old

    @property
    def key_retention(self) -> timedelta:
        """How long idempotency keys are kept before the worker's tick purges them."""
        return timedelta(hours=self.idempotency_retention_hours)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = None) -> Settings:
        """The settings ``FILINGFLOW_*`` variables give; :class:`SettingsError` listing every bad one.

        ``environ`` defaults to the process environment, read together with ``./.env`` (a variable
        set in the environment wins over the file). Given a mapping (tests), only that mapping is
        read, plus ``env_file`` when one is named.
        """
        if environ is None and env_file is None:
            env_file = DEFAULT_ENV_FILE
        return cls(**_read(os.environ if environ is None else environ, env_file))


# --- reading the environment --------------------------------------------------------------------

PREFIX = "FILINGFLOW_"
_WHOLE = re.compile(r"[0-9]{1,10}")
_DECIMAL = re.compile(r"[0-9]{1,10}(\.[0-9]{1,6})?")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")


def _whole(value: object) -> object:
    """ASCII digits only (``int()`` would take "٣" and " 7", pydantic "1_000"): one strict reading everywhere."""
    if isinstance(value, str):
        if not _WHOLE.fullmatch(value):
            raise ValueError("must be a whole number written in ASCII digits")
        return int(value)
    return value


def _decimal(value: object) -> object:
    """A plain decimal number ("30", "0.5"): no exponent, no "nan" or "inf"."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise ValueError("must be a number such as 30 or 0.5")
        return float(value)
    return value


def _year(value: object) -> object:
    year = _whole(value)
    if isinstance(year, int) and not 2000 <= year <= 2200:
        raise ValueError("must be a year, 2000..2200")
    return year


def _threshold(value: object) -> object:
    """psycopg's ``prepare_threshold``: a whole number, or ``off``/``none`` for never preparing on the server."""
    if isinstance(value, str) and value.lower() in ("off", "none"):
        return None
    if isinstance(value, str) and not _WHOLE.fullmatch(value):
        raise ValueError("must be a whole number (statements run before psycopg prepares one), or off / none")
    return _whole(value)


def _retention(value: object) -> object:
    """Hours to keep idempotency keys: at least 24, the replay window the API promises (RELIABILITY.md)."""
    hours = _whole(value)
    if isinstance(hours, int) and not MIN_RETENTION_HOURS <= hours <= 24 * 3660:
        raise ValueError(
            f"must be at least {MIN_RETENTION_HOURS} (hours): an Idempotency-Key replays for"
            f" {MIN_RETENTION_HOURS} hours; at most {24 * 3660}"
        )
    return hours


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _instant(value: object) -> object:
    """ISO 8601 with its UTC offset; never a bare number (pydantic would read "1700000000" as a Unix time)."""
    if not isinstance(value, str):
        return value
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO 8601 date-time, e.g. 2025-08-20T09:00:00+08:00") from None
    if start.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2025-08-20T09:00:00+08:00")
    return start


_Count = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=10**9)]
_CountOrZero = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=10**9)]
_Port = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=65535)]
_Year = Annotated[int | None, BeforeValidator(_year)]
_Threshold = Annotated[Annotated[int, Field(ge=0, le=10**6)] | None, BeforeValidator(_threshold)]
_Instant = Annotated[datetime | None, BeforeValidator(_instant)]
_Positive = Annotated[float, BeforeValidator(_decimal), Field(gt=0, allow_inf_nan=False)]
_Rate = Annotated[Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)] | None, BeforeValidator(_decimal)]
_Secret = Annotated[str, StringConstraints(strip_whitespace=False)]  # a password may end in a space


class _Environment(BaseSettings):
    """The typed ``FILINGFLOW_*`` variables; one field each, named as the variable without its prefix.

    Fields are validated in the order written, so a ``*_FILE`` field sees its direct twin (declared
    just before it) and ``clock_start`` sees ``sandbox``. Validators raise ``ValueError`` with a text
    that reads after the variable's name; :func:`_read` adds the name and lists them all.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        case_sensitive=False,
        env_ignore_empty=True,  # FILINGFLOW_X= means unset, as it always has
        str_strip_whitespace=True,
        extra="ignore",
        frozen=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what :func:`_read` passes in: the class itself never looks at ``os.environ``."""
        return (init_settings,)

    database_url: str = DEFAULT_DATABASE_URL
    programs: str | None = None
    db_pool_size: _Count = 5
    db_max_overflow: _CountOrZero = 10
    # the default is not validated: only a value given is refused on SQLite
    db_prepare_threshold: _Threshold = Field(default=PSYCOPG_PREPARE_THRESHOLD, validate_default=False)
    calendar_package_until: _Year = None
    var_dir: str = "var"
    audit_key: str | None = None
    audit_key_file: Path | None = None
    session_key: str | None = None
    session_key_file: Path | None = None
    csrf_key: str | None = None
    csrf_key_file: Path | None = None
    sandbox: Annotated[Literal["0", "1"], BeforeValidator(_lower)] = "0"
    clock_start: _Instant = None
    clock_rate: _Rate = None
    worker_interval: _Positive = 30.0
    smtp_host: str | None = None
    smtp_port: _Port = 25
    smtp_tls: Annotated[Literal["none", "starttls", "ssl"], BeforeValidator(_lower)] = "none"
    smtp_username: str | None = None
    smtp_password: _Secret | None = None
    smtp_password_file: Path | None = None
    smtp_ca_file: str | None = None
    mail_from: str = "FilingFlow <noreply@filingflow.local>"
    sms_gateway_url: str | None = None
    sms_gateway_secret: str | None = None
    sms_gateway_secret_file: Path | None = None
    staff_email: str = "staff@filingflow.local"
    outbox_max_attempts: _Count = 8
    outbox_lease_seconds: _Positive = 120.0
    outbox_batch: _Count = 200
    outbox_commit_every: _Count = 1
    console_secure_cookie: Annotated[bool, BeforeValidator(_lower)] = False
    log_format: Annotated[Literal["text", "json", "logfmt"], BeforeValidator(_lower)] = "text"
    idempotency_retention_hours: Annotated[int, BeforeValidator(_retention)] = MIN_RETENTION_HOURS

    @field_validator("audit_key_file", "session_key_file", "csrf_key_file", "smtp_password_file")
    @classmethod
    def _secret_file(cls, file: Path | None, info: ValidationInfo) -> Path | None:
        return _one_way(file, info)

    @field_validator("sms_gateway_secret_file")
    @classmethod
    def _gateway_secret(cls, file: Path | None, info: ValidationInfo) -> Path | None:
        """As :meth:`_secret_file`, and a gateway needs its signing secret one way or the other."""
        file = _one_way(file, info)
        if info.data.get("sms_gateway_url") and not (file or info.data.get("sms_gateway_secret")):
            raise ValueError(
                "is needed with FILINGFLOW_SMS_GATEWAY_URL to sign requests (or FILINGFLOW_SMS_GATEWAY_SECRET_FILE)"
            )
        return file

    @field_validator("clock_start")
    @classmethod
    def _sandbox_only(cls, start: datetime | None, info: ValidationInfo) -> datetime | None:
        """A moved clock only together with ``FILINGFLOW_SANDBOX=1``, so it never reaches a production database."""
        if start is not None and info.data.get("sandbox", "1") != "1":
            raise ValueError("is set but FILINGFLOW_SANDBOX is not 1: a moved clock is refused outside a sandbox")
        return start

    @field_validator("clock_rate")
    @classmethod
    def _sandbox_rate(cls, rate: float | None, info: ValidationInfo) -> float | None:
        """A faster clock (simulations: ``python -m bench round``) only on a sandbox timeline, never in production."""
        if rate is not None and info.data.get("sandbox", "1") != "1":
            raise ValueError("is set but FILINGFLOW_SANDBOX is not 1: a faster clock is refused outside a sandbox")
        if rate is not None and info.data.get("clock_start") is None:
            raise ValueError("needs FILINGFLOW_CLOCK_START: the rate is that of the sandbox timeline it starts")
        return rate

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """SQLite, or PostgreSQL through psycopg 3 (``postgresql://``, the usual form, is taken to mean that)."""
        try:
            url = make_url(value)
        except sa.exc.ArgumentError:
            raise ValueError(f"is not a database URL: write {URL_FORMS}") from None
        if url.drivername in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
            return value
        if url.drivername in ("postgresql", "postgres"):  # psycopg 3 ships with FilingFlow
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        raise ValueError(f"uses {url.drivername!r}, which FilingFlow does not support: write {URL_FORMS}")

    @field_validator("db_prepare_threshold")
    @classmethod
    def _server_side_preparing(cls, value: int | None, info: ValidationInfo) -> int | None:
        """Only PostgreSQL prepares statements on the server: on SQLite the variable would silently do nothing."""
        url = info.data.get("database_url", "")
        if url and make_url(url).get_backend_name() == "sqlite":
            raise ValueError(
                "is set but FILINGFLOW_DATABASE_URL is SQLite: it only configures psycopg on PostgreSQL; unset it"
            )
        return value

    @field_validator("staff_email")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if not _ADDRESS.fullmatch(value):
            raise ValueError("is not an email address (e.g. staff@example.gov.cn)")
        return value

    @field_validator("mail_from")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _ADDRESS.fullmatch(parseaddr(value)[1]):
            raise ValueError("has no email address (e.g. 龙岗区AI署 <noreply@example.gov.cn>)")
        return value

    @field_validator("var_dir")
    @classmethod
    def _writable(cls, value: str) -> str:
        """Secrets, mail and SMS sinks go there: find out now, not at the first notice."""
        _check_writable(Path(value))
        return value


SECRET_FILES = {
    "audit_key": "audit_key_file",
    "session_key": "session_key_file",
    "csrf_key": "csrf_key_file",
    "smtp_password": "smtp_password_file",
    "sms_gateway_secret": "sms_gateway_secret_file",
}
_SECRETS = frozenset(SECRET_FILES)
_ENVIRONMENT_ONLY = frozenset({*SECRET_FILES.values(), "sandbox"})


def _variable(name: str) -> str:
    return f"{PREFIX}{name.upper()}"


def _one_way(file: Path | None, info: ValidationInfo) -> Path | None:
    """A secret from the file ``NAME_FILE`` names (a container secret), never together with ``NAME``."""
    twin = str(info.field_name).removesuffix("_file")
    if file is not None and info.data.get(twin):
        raise ValueError(f"{_variable(twin)} and {_variable(twin)}_FILE are both set: give the secret one way")
    if file is not None:
        _read_secret(file)  # read again by _read; here so an unreadable file is listed with the rest
    return file


def _read_secret(file: Path) -> str:
    try:
        value = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot be read: {exc.__class__.__name__}") from None
    if not value:
        raise ValueError("names an empty file")
    return value


def _check_writable(path: Path) -> None:
    """``path`` (or, if it does not exist yet, the directory it will be made in) takes a new file."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"cannot be a directory: {probe} is not one")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ValueError(
            f"is not writable (cannot create a file in {probe}: {exc.strerror or exc.__class__.__name__})"
        ) from None


class _Mapping(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the process environment, or a test's)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(dict(self._environ), self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _read(environ: Mapping[str, str], env_file: str | Path | None) -> dict[str, Any]:
    """Every ``Settings`` field from ``environ`` over ``env_file``; :class:`SettingsError` listing every bad one."""
    sources: list[PydanticBaseSettingsSource] = [_Mapping(_Environment, environ)]
    if env_file is not None:
        sources.append(DotEnvSettingsSource(_Environment, env_file=env_file))
    given: dict[str, Any] = {}
    for source in reversed(sources):  # the environment wins over the file
        given.update(source())
    try:
        env = _Environment(**given)
    except ValidationError as exc:
        raise SettingsError.listing([_problem(error) for error in exc.errors()]) from None
    values = env.model_dump(exclude=set(_ENVIRONMENT_ONLY))
    for name, file in SECRET_FILES.items():
        path = getattr(env, file)
        if path is not None:
            values[name] = _read_secret(path)
    values["database_url_from_env"] = "database_url" in given
    return values


def _problem(error: Any) -> str:
    """``FILINGFLOW_SMTP_PORT='70000': Input should be ...``, never echoing a secret."""
    name = str(error["loc"][0]) if error["loc"] else "?"
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    if error["input"] is None:  # a missing secret: name the variable to set
        return f"{_variable(name.removesuffix('_file'))}: {message}"
    if name in _SECRETS:
        return f"{_variable(name)}: {message}"
    shown = _without_password(error["input"]) if name == "database_url" else error["input"]
    return f"{_variable(name)}={shown!r}: {message}"


def _without_password(value: object) -> object:
    """A database URL as it may be printed: its password (if it parses and has one) replaced by ``***``."""
    try:
        return make_url(str(value)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return value


def _same_fields() -> bool:
    """Every ``Settings`` field is read from the environment (checked by the tests)."""
    wanted = {f.name for f in fields(Settings)} - {"database_url_from_env"}
    return wanted == set(_Environment.model_fields) - _ENVIRONMENT_ONLY
