"""Real servers on 127.0.0.1 for delivery tests: an aiosmtpd SMTP server and a fake SMS provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.dispatcher import Dispatcher
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.engine import Engine


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sms() -> Iterator[SmsProvider]:
    provider = SmsProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def delivery_settings(settings: Settings, smtp: SmtpServer, sms: SmsProvider, tmp_path: Path) -> Settings:
    return replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from="龙岗区人工智能（机器人）署 <noreply@ai.lg.example.cn>",
        sms_gateway_url=sms.url,
        sms_gateway_secret=SECRET,
        staff_email="reviewers@ai.lg.example.cn",
        var_dir=str(tmp_path / "var"),
        outbox_max_attempts=3,
    )


@pytest.fixture
def dispatcher(delivery_settings: Settings, engine: Engine) -> Dispatcher:
    return build_dispatcher(delivery_settings, engine)
