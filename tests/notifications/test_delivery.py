"""Notices that arrive: real SMTP (aiosmtpd) and a loopback SMS provider; exact Chinese, real dates."""

from __future__ import annotations

import asyncio
import email
import logging
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.context import build_context
from notifications.dispatcher import Dispatcher, retry_notice
from notifications.email import Sender, SmtpChannel, SmtpSettings, build_message, message_id
from notifications.rendering import RenderedEmail, Renderer
from tests.notifications.cases import rows
from tests.support.longgang import PROGRAM, submitted
from tests.support.sms_gateway import SmsProvider
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock, SystemClock
from workflow.engine import Engine

LONG_SUBJECT = "关于深圳市龙岗区人工智能（机器人）产业专项资金申报材料已通过网上终审的通知"
LONG_SENDER = "深圳市龙岗区人工智能（机器人）产业发展专项资金管理办公室审核组"


def _decoded(raw: bytes, header: str) -> str:
    """A header as RFC 2047 decodes it (whitespace between encoded words dropped).

    ``email.policy.default`` inserts a space between encoded words in address display
    names (CPython gh-128110), so address headers are decoded the compat32 way here.
    """
    return str(make_header(decode_header(email.message_from_bytes(raw)[header])))


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def _rendered(engine: Engine, row: dict[str, Any]) -> RenderedEmail:
    """What the templates make of a Longgang outbox row (what the recipient must read, exactly)."""
    process = engine.programs.get(PROGRAM)
    context = build_context(row["context"], process, kind=row["kind"], channel="email")
    return Renderer().email(process.definition, row["kind"], context)


def test_email_and_sms_are_delivered_once_with_exact_chinese_and_stable_ids(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, sms: SmsProvider
) -> None:
    # LG-NOTE-1: the submission receipt reaches the applicant by email and SMS, the staff by email
    case_id = submitted(engine)
    report = dispatcher.dispatch_due()
    assert (report.claimed, report.sent, report.dead) == (3, 3, 0), report.errors
    assert dispatcher.dispatch_due().claimed == 0, "nothing is sent twice"
    assert len(smtp.mailbox.messages) == 2
    by_to = {str(m["To"]): (m, raw) for m, raw in zip(smtp.mailbox.messages, smtp.mailbox.raw, strict=True)}
    mail, raw = by_to["case1@example.cn"]
    (row,) = rows(engine, case_id=case_id, channel="email", recipient="case1@example.cn")
    expected = _rendered(engine, row)
    assert len(expected.subject) >= 20, "a subject long enough to be folded over several encoded words"
    assert str(mail["Subject"]) == expected.subject
    assert _parts(mail) == (expected.text, expected.html)
    assert "=?utf-8?" in raw.decode("ascii").split("Subject:")[1][:100].lower(), "the subject travels RFC 2047-encoded"
    assert parseaddr(_decoded(raw, "From")) == ("龙岗区人工智能（机器人）署", "noreply@ai.lg.example.cn")
    assert mail["Message-ID"] == message_id(str(row["idempotency_key"]), "ai.lg.example.cn")
    assert (row["status"], row["attempts"], row["provider_id"]) == ("sent", 1, mail["Message-ID"])
    staff, _ = by_to["reviewers@ai.lg.example.cn"]
    assert "深圳市测试科技1号有限公司" in str(staff["Subject"]), "staff hear of the new submission"
    (message,) = sms.received
    assert message["to"] == "13900000001"
    assert len(message["text"]) <= 70
    assert sms.bad_signatures == 0
    assert rows(engine, channel="sms")[0]["provider_id"] == "sms-1"


def test_long_chinese_subject_and_sender_name_decode_exactly(smtp: SmtpServer) -> None:
    text = "尊敬的申报单位：\n\n您的申报材料已通过网上终审。\n"
    rendered = RenderedEmail(LONG_SUBJECT, text, "<p>已通过网上终审</p>\n")
    outgoing = build_message(
        rendered,
        sender=Sender("noreply@ai.lg.example.cn", LONG_SENDER),
        to="case1@example.cn",
        idempotency_key="case/1/v3/email",
        sent_at=datetime(2025, 8, 20, 1, 0, tzinfo=UTC),
    )

    async def send() -> None:
        async with SmtpChannel(SmtpSettings(host="127.0.0.1", port=smtp.port)) as channel:
            await channel.send(outgoing)

    asyncio.run(send())
    (mail,), (raw,) = smtp.mailbox.messages, smtp.mailbox.raw
    assert str(mail["Subject"]) == LONG_SUBJECT
    assert raw.count(b"=?utf-8?b?") >= 4, "subject and sender name each span several encoded words"
    assert parseaddr(_decoded(raw, "From")) == (LONG_SENDER, "noreply@ai.lg.example.cn")
    assert _parts(mail) == (rendered.text, rendered.html)
    assert smtp.mailbox.envelopes == [("noreply@ai.lg.example.cn", ["case1@example.cn"])]


def test_a_dead_sms_alerts_the_staff_mailbox_and_can_be_retried(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, smtp: SmtpServer
) -> None:
    submitted(engine, 1)
    dispatcher.dispatch_due()
    before = len(smtp.mailbox.messages)
    case_id = submitted(engine, 2)
    sms.script.extend([400])
    dispatcher.dispatch_due()
    (dead,) = rows(engine, channel="sms", case_id=case_id)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    assert "400" in str(dead["last_error"])
    (alert,) = rows(engine, kind="notice_dead")
    assert (alert["recipient"], alert["status"]) == ("staff", "pending")
    dispatcher.dispatch_due()
    alerts = [m for m in smtp.mailbox.messages[before:] if "通知发送失败" in str(m["Subject"])]
    assert len(alerts) == 1, [str(m["Subject"]) for m in smtp.mailbox.messages[before:]]
    (mail,) = alerts
    assert str(mail["To"]) == "reviewers@ai.lg.example.cn"
    subject = f"【通知发送失败】submission_received（短信） · 深圳市测试科技2号有限公司（编号{case_id}）"
    assert str(mail["Subject"]) == subject
    text, html = _parts(mail)
    assert f"通知编号：{dead['id']}" in text
    assert "发送渠道：短信" in text
    assert "收件人：13900000002" in text
    assert f"最后一次错误：{dead['last_error']}" in text
    assert f"filingflow notifications retry {dead['id']}" in text
    assert "<td>短信</td>" in html
    assert rows(engine, kind="notice_dead")[0]["status"] == "sent"
    assert retry_notice(engine, int(str(dead["id"])))
    assert not retry_notice(engine, int(str(dead["id"]))), "only a dead notice is queued again"
    dispatcher.dispatch_due()
    assert rows(engine, channel="sms", case_id=case_id)[0]["status"] == "sent"
    assert sms.received[-1]["to"] == "13900000002"


def test_outgoing_dates_and_signatures_use_real_time_not_the_sandbox_clock(
    engine: Engine, delivery_settings: Settings, smtp: SmtpServer, sms: SmsProvider, clock: ManualClock
) -> None:
    wall = ManualClock(datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC))  # stands in for real time
    submitted(engine, 1)
    report = build_dispatcher(delivery_settings, engine, wall_clock=wall).dispatch_due()
    assert report.sent == 3, report.errors
    assert {parsedate_to_datetime(str(m["Date"])) for m in smtp.mailbox.messages} == {wall.now()}
    assert [r["timestamp"] for r in sms.requests] == [str(int(wall.now().timestamp()))]
    assert {r["sent_at"] for r in rows(engine)} == {clock.now()}, "the outbox keeps the engine's time"

    submitted(engine, 2)  # without an injected clock: the system's, whatever the engine says
    build_dispatcher(delivery_settings, engine).dispatch_due()
    real = SystemClock().now()
    dated = parsedate_to_datetime(str(smtp.mailbox.messages[-1]["Date"]))
    assert abs(dated - real) < timedelta(minutes=1)
    assert abs(int(sms.requests[-1]["timestamp"]) - real.timestamp()) < 60
    assert abs(clock.now() - real) > timedelta(days=1), "the engine's clock is far from real time here"


def test_one_smtp_connection_per_batch(engine: Engine, delivery_settings: Settings, smtp: SmtpServer) -> None:
    from dataclasses import replace

    for serial in range(1, 6):
        submitted(engine, serial, phone=False)  # 10 emails
    dispatcher = build_dispatcher(replace(delivery_settings, outbox_batch=4), engine)
    first = dispatcher.dispatch_due()
    assert (first.claimed, first.sent) == (4, 4)
    assert smtp.mailbox.sessions() == 1
    rest = dispatcher.dispatch_all()
    assert (rest.claimed, rest.sent) == (6, 6)
    assert smtp.mailbox.sessions() == 3, "batches of 4, 4 and 2 messages: one connection each"
    assert len(smtp.mailbox.messages) == 10


def test_without_servers_notices_go_to_local_sinks_and_start_up_says_so(
    engine: Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    var = tmp_path / "var"
    with caplog.at_level(logging.INFO, logger="filingflow"):
        dispatcher = build_dispatcher(replace(settings, var_dir=str(var)), engine)
    announced = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"email: no FILINGFLOW_SMTP_HOST, delivering to the local sink {var / 'mail'}" in announced
    assert f"sms: no FILINGFLOW_SMS_GATEWAY_URL, delivering to the local sink {var / 'sms.log'}" in announced
    submitted(engine, 1)
    report = dispatcher.dispatch_due()
    assert report.sent == 3, report.errors
    assert len(list((var / "mail").glob("*.eml"))) == 2
    assert "13900000001" in (var / "sms.log").read_text(encoding="utf-8")
