"""Configuration from the environment: sane defaults, and a clear error naming a bad variable."""

from __future__ import annotations

import pytest

from app.bootstrap import bootstrap
from app.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


def test_defaults_need_nothing_set() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.db_pool_size, settings.db_max_overflow) == (5, 10)
    assert (settings.calendar_package_until, settings.programs, settings.clock_start) == (None, None, None)
    assert (settings.outbox_batch, settings.outbox_commit_every, settings.console_secure_cookie) == (200, 1, False)
    assert (settings.audit_key, settings.session_key, settings.csrf_key) == (None, None, None)  # no default


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"FILINGFLOW_OUTBOX_BATCH": "25", "FILINGFLOW_OUTBOX_COMMIT_EVERY": "7"},
            {"outbox_batch": 25, "outbox_commit_every": 7},
        ),
        (
            {"FILINGFLOW_SMTP_CA_FILE": "/ca.pem", "FILINGFLOW_SMTP_PORT": "465"},
            {"smtp_ca_file": "/ca.pem", "smtp_port": 465},
        ),
        ({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "1"}, {"console_secure_cookie": True}),
        ({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "true"}, {"console_secure_cookie": True}),
        ({"FILINGFLOW_CONSOLE_SECURE_COOKIE": "0"}, {"console_secure_cookie": False}),
        ({"FILINGFLOW_DB_MAX_OVERFLOW": "0"}, {"db_max_overflow": 0}),
        ({"FILINGFLOW_CALENDAR_PACKAGE_UNTIL": "2026"}, {"calendar_package_until": 2026}),
    ],
)
def test_values_from_the_environment(environ: dict[str, str], expected: dict[str, object]) -> None:
    settings = Settings.from_env(environ)
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FILINGFLOW_DB_POOL_SIZE", "0"),
        ("FILINGFLOW_DB_POOL_SIZE", "many"),
        ("FILINGFLOW_DB_MAX_OVERFLOW", "-1"),
        ("FILINGFLOW_SMTP_PORT", "70000"),
        ("FILINGFLOW_OUTBOX_BATCH", "0"),
        ("FILINGFLOW_OUTBOX_BATCH", "-3"),
        ("FILINGFLOW_OUTBOX_COMMIT_EVERY", "2.5"),
        ("FILINGFLOW_OUTBOX_COMMIT_EVERY", "many"),
        ("FILINGFLOW_CONSOLE_SECURE_COOKIE", "sometimes"),
        ("FILINGFLOW_OUTBOX_MAX_ATTEMPTS", "2.5"),
        ("FILINGFLOW_CALENDAR_PACKAGE_UNTIL", "next year"),
        ("FILINGFLOW_WORKER_INTERVAL", "0"),
        ("FILINGFLOW_SMTP_TLS", "maybe"),
        ("FILINGFLOW_CLOCK_START", "2025-08-20T09:00:00+08:00"),  # without FILINGFLOW_SANDBOX=1
        ("FILINGFLOW_STAFF_EMAIL", "nobody"),
        ("FILINGFLOW_STAFF_EMAIL", "staff @example.gov.cn"),
        ("FILINGFLOW_MAIL_FROM", "FilingFlow"),
        ("FILINGFLOW_DB_POOL_SIZE", "٣"),  # an Arabic-Indic three: int() would take it
        ("FILINGFLOW_OUTBOX_BATCH", "1_000"),
        ("FILINGFLOW_WORKER_INTERVAL", "nan"),
        ("FILINGFLOW_OUTBOX_LEASE_SECONDS", "1e3"),
        ("FILINGFLOW_CALENDAR_PACKAGE_UNTIL", "1999"),
        ("FILINGFLOW_SANDBOX", "yes"),
        ("FILINGFLOW_LOG_FORMAT", "xml"),
        ("FILINGFLOW_SMTP_PASSWORD_FILE", "/nonexistent/password"),
        ("FILINGFLOW_SMS_GATEWAY_SECRET", ""),  # with a gateway URL (below): unsigned requests are refused
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    environ = {name: value}
    if name == "FILINGFLOW_SMS_GATEWAY_SECRET":
        environ["FILINGFLOW_SMS_GATEWAY_URL"] = "https://sms.example.gov.cn/send"
    with pytest.raises(SettingsError, match=name) as refused:
        Settings.from_env(environ)
    assert len(refused.value.problems) == 1, refused.value.problems


def test_good_values_next_to_the_bad_ones_are_accepted() -> None:
    # the counterparts of the refusals above, so each refusal is about the value and not the variable
    settings = Settings.from_env(
        {
            "FILINGFLOW_STAFF_EMAIL": "staff@example.gov.cn",
            "FILINGFLOW_MAIL_FROM": "龙岗区AI署 <noreply@example.gov.cn>",
            "FILINGFLOW_WORKER_INTERVAL": "0.5",
            "FILINGFLOW_SANDBOX": "1",
            "FILINGFLOW_CLOCK_START": "2025-08-20T09:00:00+08:00",
            "FILINGFLOW_SMTP_TLS": "STARTTLS",
            "FILINGFLOW_SMS_GATEWAY_URL": "https://sms.example.gov.cn/send",
            "FILINGFLOW_SMS_GATEWAY_SECRET": "s",
        }
    )
    assert (settings.staff_email, settings.worker_interval, settings.smtp_tls) == (
        "staff@example.gov.cn",
        0.5,
        "starttls",
    )
    assert settings.clock_start is not None
    assert settings.clock_start.isoformat() == "2025-08-20T09:00:00+08:00"


def test_pool_settings_reach_the_database(database_url: str) -> None:
    settings = Settings.from_env(
        {
            "FILINGFLOW_DATABASE_URL": database_url,
            "FILINGFLOW_AUDIT_KEY": "pool-test-key",
            "FILINGFLOW_DB_POOL_SIZE": "3",
            "FILINGFLOW_DB_MAX_OVERFLOW": "0",
        }
    )
    engine = bootstrap(settings, migrate=False)
    try:
        pool = engine.database.pool
        assert (pool.size(), pool._max_overflow) == (3, 0)  # type: ignore[attr-defined]
    finally:
        engine.database.dispose()
