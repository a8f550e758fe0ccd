"""What fails and how the outbox reacts: outages, greylisting, gateway answers, timeouts, webhooks."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.dispatcher import Channels, Dispatcher, OutboxPolicy
from notifications.email import Sender, SmtpChannel, SmtpSettings
from notifications.sms import UNKNOWN_ID, HttpSmsGateway
from tests.notifications.cases import rows
from tests.support.longgang import submitted
from tests.support.sms_gateway import SECRET, SmsProvider
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.tables import webhook_subscriptions


def test_smtp_outage_costs_one_attempt_per_batch_and_everything_arrives_after_it(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, sms: SmsProvider, clock: ManualClock
) -> None:
    for serial in range(1, 6):
        submitted(engine, serial)  # 5 SMS, 10 emails
    smtp.stop()
    report = dispatcher.dispatch_due()
    assert (report.sent, report.retried, report.held_back, report.dead) == (5, 1, 9, 0), "SMS went out, emails wait"
    emails = rows(engine, channel="email")
    assert {r["status"] for r in emails} == {"pending"}
    assert sum(r["attempts"] for r in emails) == 1, "only the email that found the server down spent an attempt"
    assert all("unavailable" in str(r["last_error"]) for r in emails)
    assert dispatcher.dispatch_due().claimed == 0, "backoff: not retried at once"

    probes = 0
    for _ in range(8):  # an outage of over an hour, with max_attempts = 3 in these tests
        clock.advance(timedelta(minutes=10))
        report = dispatcher.dispatch_all()
        probes += report.retried
        assert report.retried <= 1, report
        assert report.dead == 0, report
    emails = rows(engine, channel="email")
    assert {r["status"] for r in emails} == {"pending"}, "nobody's notice died of the outage"
    assert sum(r["attempts"] for r in emails) == 1 + probes
    assert max(r["attempts"] for r in emails) == 1, "each probe spent a different notice's attempt"

    smtp.start()
    clock.advance(timedelta(minutes=10))
    report = dispatcher.dispatch_all()
    assert (report.sent, report.dead) == (10, 0), report
    assert len(smtp.mailbox.messages) == 10
    assert sorted(str(m["To"]) for m in smtp.mailbox.messages) == sorted(
        [f"case{i}@example.cn" for i in range(1, 6)] + ["reviewers@ai.lg.example.cn"] * 5
    )
    assert {r["status"] for r in rows(engine)} == {"sent"}


def test_greylisting_4xx_is_retried_and_5xx_refusal_is_dead(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, clock: ManualClock
) -> None:
    submitted(engine, 1, phone=False)  # applicant email, then staff email
    smtp.mailbox.rcpt_script.extend(["450 4.2.0 Greylisted, please try again later", "451 4.7.1 Try later"])
    report = dispatcher.dispatch_due()
    assert (report.retried, report.dead) == (2, 0), report.errors
    greylisted = rows(engine, channel="email")
    assert [(r["status"], r["attempts"]) for r in greylisted] == [("pending", 1), ("pending", 1)]
    assert "450" in str(greylisted[0]["last_error"])
    assert "451" in str(greylisted[1]["last_error"])
    clock.advance(timedelta(minutes=2))
    assert dispatcher.dispatch_all().sent == 2
    assert len(smtp.mailbox.messages) == 2

    case_id = submitted(engine, 2, phone=False)
    smtp.mailbox.rcpt_script.append("550 5.1.1 No such user")
    dispatcher.dispatch_due()
    refused = rows(engine, case_id=case_id, recipient="case2@example.cn")[0]
    assert (refused["status"], refused["attempts"]) == ("dead", 1)
    assert "550" in str(refused["last_error"])


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_gateway_answers_that_may_pass_later_are_retried(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, clock: ManualClock, status: int
) -> None:
    submitted(engine, 1)
    sms.script.append(status)
    dispatcher.dispatch_due()
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert str(status) in str(row["last_error"])
    clock.advance(timedelta(minutes=1))
    dispatcher.dispatch_due()
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"], row["provider_id"]) == ("sent", 2, "sms-1")


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_gateway_refusals_are_dead_after_one_attempt(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, status: int
) -> None:
    submitted(engine, 1)
    sms.script.append(status)
    dispatcher.dispatch_due()
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert str(status) in str(row["last_error"])


def test_gateway_2xx_without_message_id_counts_as_sent_and_is_never_sent_again(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    submitted(engine, 1)
    sms.script.append("no-id")
    with caplog.at_level(logging.WARNING, logger="filingflow.notifications"):
        report = dispatcher.dispatch_due()
    assert report.sent == 3, report.errors
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["provider_id"]) == ("sent", UNKNOWN_ID)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("without a message_id" in w and "provider id unknown" in w for w in warnings), warnings
    clock.advance(timedelta(hours=3))
    assert dispatcher.dispatch_all().claimed == 0
    assert len(sms.requests) == 1, "accepted once, sent once"


def test_gateway_timeout_is_retried_with_the_same_idempotency_key(
    engine: Engine, delivery_settings: Settings, sms: SmsProvider, clock: ManualClock
) -> None:
    submitted(engine, 1, phone=True)
    channels = Channels(
        email=lambda: SmtpChannel(SmtpSettings(host="127.0.0.1", port=delivery_settings.smtp_port)),
        sms=lambda: HttpSmsGateway(sms.url, SECRET, now=clock.now, timeout=0.3),
        sender=Sender("noreply@ai.lg.example.cn"),
        staff_email="reviewers@ai.lg.example.cn",
    )
    dispatcher = Dispatcher(engine, channels, rng=random.Random(1))
    sms.script.append("hang")  # takes the message, answers after 1 s: past the 0.3 s timeout
    dispatcher.dispatch_due()
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "timed out" in str(row["last_error"])
    clock.advance(timedelta(minutes=1))
    dispatcher.dispatch_due()
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert [r["key"] for r in sms.requests] == [row["idempotency_key"]] * 2, "the provider can drop the repeat"


def test_webhook_5xx_is_retried_then_delivered(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, clock: ManualClock
) -> None:
    with engine.database.begin() as conn:  # sms doubles as the receiving backend (same signature scheme)
        conn.execute(
            sa.insert(webhook_subscriptions).values(
                url=sms.url, secret=SECRET, events=[], active=True, created_by="admin", created_at=clock.now()
            )
        )
    case_id = submitted(engine, 1, phone=False)
    hooks = rows(engine, channel="webhook")
    assert len(hooks) == 2, "open and submit"
    sms.script.extend([502, 503])
    report = dispatcher.dispatch_due()
    assert (report.retried, report.dead) == (2, 0), report.errors
    assert [(r["status"], r["attempts"]) for r in rows(engine, channel="webhook")] == [("pending", 1)] * 2
    clock.advance(timedelta(minutes=1))
    report = dispatcher.dispatch_due()
    assert report.sent == 2, report.errors
    assert [r["status"] for r in rows(engine, channel="webhook")] == ["sent", "sent"]
    assert [(b["type"], b["case_id"]) for b in sms.received] == [("case.changed", case_id)] * 2
    assert sms.bad_signatures == 0


@pytest.mark.parametrize("url", ["http://\U000b54f9Z/", "ftp://hooks.example.cn/x"])
def test_a_webhook_url_no_client_can_send_to_fails_its_notice_alone(
    engine: Engine, dispatcher: Dispatcher, smtp: SmtpServer, sms: SmsProvider, clock: ManualClock, url: str
) -> None:
    """A subscription stored before the API checked URLs must not hold back the batch's SMS and email."""
    with engine.database.begin() as conn:
        conn.execute(
            sa.insert(webhook_subscriptions).values(
                url=url, secret=SECRET, events=[], active=True, created_by="admin", created_at=clock.now()
            )
        )
    submitted(engine, 1)
    report = dispatcher.dispatch_due()
    assert report.dead == 2, report.errors
    assert [r["status"] for r in rows(engine, channel="webhook")] == ["dead", "dead"]
    assert all("cannot be sent to" in str(r["last_error"]) for r in rows(engine, channel="webhook"))
    assert {r["status"] for r in rows(engine, channel="email")} == {"sent"}
    assert {r["status"] for r in rows(engine, channel="sms")} == {"sent"}
    assert len(smtp.mailbox.messages) == 2
    assert len(sms.requests) == 1


def test_transient_failures_end_dead_after_max_attempts(
    engine: Engine, dispatcher: Dispatcher, sms: SmsProvider, clock: ManualClock
) -> None:
    submitted(engine, 1)
    sms.script.extend([500, 500, 500])
    for _ in range(3):
        dispatcher.dispatch_due()
        clock.advance(timedelta(hours=2))
    (row,) = rows(engine, channel="sms")
    assert (row["status"], row["attempts"]) == ("dead", 3)


def test_backoff_grows_and_is_capped() -> None:
    policy, rng = OutboxPolicy(), random.Random(7)
    delays = [policy.backoff(n, rng).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36
    assert 48 <= delays[1] <= 72
    assert max(delays) <= 3600 * 1.2
    assert delays[-1] >= 3600 * 0.8


def test_an_unreachable_gateway_holds_back_the_other_sms_of_the_batch(
    engine: Engine, delivery_settings: Settings, smtp: SmtpServer, clock: ManualClock
) -> None:
    from tests.support.postgres import free_port

    closed = f"http://127.0.0.1:{free_port()}/sms"
    dispatcher = build_dispatcher(replace(delivery_settings, sms_gateway_url=closed), engine)
    for serial in range(1, 4):
        submitted(engine, serial)
    report = dispatcher.dispatch_due()
    assert (report.sent, report.retried, report.held_back) == (6, 1, 2), report
    texts = rows(engine, channel="sms")
    assert sum(r["attempts"] for r in texts) == 1
    assert {r["status"] for r in texts} == {"pending"}
