"""SMTP with STARTTLS, implicit TLS and a login, against aiosmtpd with a certificate made here.

The certificate comes from a throwaway CA (trustme); the dispatcher is told to trust that
CA through ``FILINGFLOW_SMTP_CA_FILE``, the way a private mail relay is configured.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from app.delivery import build_dispatcher
from app.settings import Settings
from tests.notifications.cases import rows
from tests.support.longgang import submitted
from tests.support.smtp import SmtpServer
from workflow.engine import Engine

LOGIN = ("filingflow", "s3cret-密码")


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def certificate(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(params=["starttls", "ssl"])
def secure_smtp(request: pytest.FixtureRequest, certificate: ssl.SSLContext) -> Iterator[SmtpServer]:
    server = SmtpServer(tls=request.param, certificate=certificate, login=LOGIN)
    server.start()
    yield server
    server.stop()


def _settings(base: Settings, server: SmtpServer, ca_file: str | None, tls: str, password: str) -> Settings:
    return replace(
        base,
        smtp_port=server.port,
        smtp_tls=tls,
        smtp_ca_file=ca_file,
        smtp_username=LOGIN[0],
        smtp_password=password,
    )


def test_tls_and_login_deliver(
    engine: Engine, delivery_settings: Settings, secure_smtp: SmtpServer, ca_file: str, request: pytest.FixtureRequest
) -> None:
    tls = request.node.callspec.params["secure_smtp"]
    submitted(engine, 1, phone=False)
    settings = _settings(delivery_settings, secure_smtp, ca_file, tls, LOGIN[1])
    report = build_dispatcher(settings, engine).dispatch_due()
    assert (report.sent, report.dead) == (2, 0), report.errors
    assert len(secure_smtp.mailbox.messages) == 2
    assert secure_smtp.logins == [(LOGIN[0], True)], "one login for the batch's one connection"
    assert secure_smtp.mailbox.sessions() == 1


def test_a_wrong_password_holds_the_batch_back(
    engine: Engine, delivery_settings: Settings, secure_smtp: SmtpServer, ca_file: str, request: pytest.FixtureRequest
) -> None:
    tls = request.node.callspec.params["secure_smtp"]
    submitted(engine, 1, phone=False)
    report = build_dispatcher(_settings(delivery_settings, secure_smtp, ca_file, tls, "wrong"), engine).dispatch_due()
    assert (report.sent, report.retried, report.held_back, report.dead) == (0, 1, 1, 0)
    emails = rows(engine, channel="email")
    assert {r["status"] for r in emails} == {"pending"}
    assert "login" in str(emails[0]["last_error"])
    assert secure_smtp.mailbox.messages == []


def test_an_untrusted_certificate_is_refused(
    engine: Engine, delivery_settings: Settings, secure_smtp: SmtpServer, request: pytest.FixtureRequest
) -> None:
    tls = request.node.callspec.params["secure_smtp"]
    submitted(engine, 1, phone=False)
    report = build_dispatcher(_settings(delivery_settings, secure_smtp, None, tls, LOGIN[1]), engine).dispatch_due()
    assert (report.sent, report.retried) == (0, 1)
    assert "CERTIFICATE_VERIFY_FAILED" in str(rows(engine, channel="email")[0]["last_error"])
    assert secure_smtp.logins == [], "no password is sent to a server we cannot verify"
