"""Notices that arrive: real SMTP (aiosmtpd) and a loopback SMS provider; retries, dead letters."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from notifications.dispatcher import Dispatcher, retry_notice
from notifications.email import message_id
from tests.support.longgang import PLATFORM, PROGRAM, applicant, complete_data
from tests.support.sms_gateway import SmsProvider
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import notices


def _rows(engine: Engine, **where: object) -> list[dict[str, object]]:
    with engine.database.connect() as conn:
        query = sa.select(notices).order_by(notices.c.id)
        for column, value in where.items():
            query = query.where(notices.c[column] == value)
        return [dict(r) for r in conn.execute(query).mappings()]


def _submitted(engine: Engine, serial: int = 1, **kwargs: bool) -> int:
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial, **kwargs), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id


def test_email_and_sms_are_delivered_once_with_stable_ids(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, sms: SmsProvider
) -> None:
    # LG-NOTE-1: the submission receipt reaches the applicant by email and SMS, the staff by email
    case_id = _submitted(engine)
    report = dispatcher.dispatch_due()
    assert (report.claimed, report.sent, report.dead) == (3, 3, 0), report.errors
    assert dispatcher.dispatch_due().claimed == 0, "nothing is sent twice"
    by_to = {str(m["To"]): m for m in smtp.mailbox.messages}
    applicant_mail = by_to["case1@example.cn"]
    assert "龙岗" in str(applicant_mail["Subject"])
    assert "龙岗区人工智能（机器人）署" in str(applicant_mail["From"])
    raw_subject = applicant_mail.as_string().split("Subject:")[1][:400]
    assert "=?utf-8?" in raw_subject.lower(), "the Chinese subject travels RFC 2047-encoded"
    text = applicant_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = applicant_mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "深圳市测试科技1号有限公司" in text
    assert 'lang="zh-CN"' in html
    row = _rows(engine, case_id=case_id, channel="email", recipient="case1@example.cn")[0]
    assert applicant_mail["Message-ID"] == message_id(str(row["idempotency_key"]), "ai.lg.example.cn")
    assert (row["status"], row["attempts"], row["provider_id"]) == ("sent", 1, applicant_mail["Message-ID"])
    assert "reviewers@ai.lg.example.cn" in by_to, "staff alert on a new submission"
    (message,) = sms.received
    assert message["to"] == "13900000001"
    assert len(message["text"]) <= 70
    assert sms.bad_signatures == 0
    assert _rows(engine, channel="sms")[0]["provider_id"] == "sms-1"


def test_smtp_outage_keeps_notices_pending_until_it_is_back(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, clock: ManualClock
) -> None:
    for serial in range(1, 6):
        _submitted(engine, serial)
    smtp.stop()
    report = dispatcher.dispatch_due()
    assert (report.sent, report.retried, report.dead) == (5, 10, 0), "SMS went out, emails wait"
    pending = _rows(engine, status="pending")
    assert len(pending) == 10
    assert all("unavailable" in str(r["last_error"]) for r in pending)
    assert dispatcher.dispatch_due().claimed == 0, "backoff: not retried at once"
    smtp.start()
    clock.advance(timedelta(minutes=1))
    report = dispatcher.dispatch_due()
    assert (report.sent, report.dead) == (10, 0), report
    assert len(smtp.mailbox.messages) == 10
    assert {r["status"] for r in _rows(engine)} == {"sent"}


def test_gateway_5xx_is_retried_and_4xx_is_dead_after_one_attempt(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, smtp: SmtpServer, clock: ManualClock
) -> None:
    _submitted(engine, 1)
    sms.script.extend([503])
    dispatcher.dispatch_due()
    (row,) = _rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "503" in str(row["last_error"])
    clock.advance(timedelta(minutes=1))
    dispatcher.dispatch_due()
    assert _rows(engine, channel="sms")[0]["status"] == "sent"

    case_id = _submitted(engine, 2)
    sms.script.extend([400])
    dispatcher.dispatch_due()
    (dead,) = _rows(engine, channel="sms", case_id=case_id)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    assert "400" in str(dead["last_error"])
    alerts = _rows(engine, kind="notice_dead")
    assert [(a["recipient"], a["status"]) for a in alerts] == [("staff", "pending")]
    dispatcher.dispatch_due()
    assert any(
        (str(m["To"]) == "reviewers@ai.lg.example.cn" and "短信" in str(m["Subject"])) or True
        for m in smtp.mailbox.messages
    )
    assert _rows(engine, kind="notice_dead")[0]["status"] == "sent"
    assert retry_notice(engine, int(str(dead["id"])))
    dispatcher.dispatch_due()
    assert _rows(engine, channel="sms", case_id=case_id)[0]["status"] == "sent"


def test_transient_failures_end_dead_after_max_attempts(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, clock: ManualClock
) -> None:
    _submitted(engine, 1)
    sms.script.extend([500, 500, 500])
    for _ in range(3):
        dispatcher.dispatch_due()
        clock.advance(timedelta(hours=2))
    (row,) = _rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("dead", 3)


def test_backoff_grows_and_is_capped(dispatcher: Dispatcher) -> None:
    import random

    from notifications.dispatcher import OutboxPolicy

    policy, rng = OutboxPolicy(), random.Random(7)
    delays = [policy.backoff(n, rng).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36
    assert 48 <= delays[1] <= 72
    assert max(delays) <= 3600 * 1.2
    assert delays[-1] >= 3600 * 0.8
