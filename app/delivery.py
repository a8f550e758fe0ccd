"""Wires the notification channels from settings: real SMTP and SMS gateway, or local sinks.

With no SMTP server and no SMS gateway configured (a fresh machine), notices are
delivered to local sinks under ``./var`` (``mail/*.eml`` and ``sms.log``), and start-up
says so, so ``make run`` works without any server.

What leaves the system is dated by the real clock (``wall_clock``, a
:class:`~workflow.clock.SystemClock` unless a test passes another), never by the engine's
clock: in a sandbox that one is moved on purpose, and an email ``Date`` or a gateway
signature timestamp from a moved clock would be wrong or refused as a replay.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

from app.settings import Settings, SettingsError
from notifications.dispatcher import Channels, Dispatcher, OutboxPolicy
from notifications.email import MailDirSink, Sender, SmtpChannel, SmtpSettings
from notifications.sms import FileSmsSink, HttpSmsGateway, SmsGateway
from workflow.clock import Clock, SystemClock
from workflow.engine import Engine

log = logging.getLogger("filingflow")


def build_channels(settings: Settings, *, wall_clock: Clock | None = None) -> Channels:
    var = Path(settings.var_dir)
    clock = wall_clock or SystemClock()
    name, address = parseaddr(settings.mail_from)
    if "@" not in address:
        raise SettingsError(f"FILINGFLOW_MAIL_FROM={settings.mail_from!r} has no email address")
    if settings.smtp_host:
        smtp = SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )

        def email() -> SmtpChannel | MailDirSink:
            return SmtpChannel(smtp)

        log.info("email: SMTP %s:%s (tls=%s)", smtp.host, smtp.port, smtp.tls)
    else:

        def email() -> SmtpChannel | MailDirSink:
            return MailDirSink(var / "mail")

        log.warning("email: no FILINGFLOW_SMTP_HOST, delivering to the local sink %s", var / "mail")
    url, secret = settings.sms_gateway_url, settings.sms_gateway_secret
    if url:
        if not secret:
            raise SettingsError("FILINGFLOW_SMS_GATEWAY_URL needs FILINGFLOW_SMS_GATEWAY_SECRET to sign requests")

        def sms() -> SmsGateway:
            return HttpSmsGateway(url, secret, now=clock.now)

        log.info("sms: gateway %s", url)
    else:

        def sms() -> SmsGateway:
            return FileSmsSink(var / "sms.log")

        log.warning("sms: no FILINGFLOW_SMS_GATEWAY_URL, delivering to the local sink %s", var / "sms.log")
    return Channels(
        email=email, sms=sms, sender=Sender(address, name or "FilingFlow"), staff_email=settings.staff_email
    )


def build_dispatcher(settings: Settings, engine: Engine, *, wall_clock: Clock | None = None) -> Dispatcher:
    clock = wall_clock or SystemClock()
    policy = OutboxPolicy(
        max_attempts=settings.outbox_max_attempts,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        batch=settings.outbox_batch,
        commit_every=settings.outbox_commit_every,
    )
    return Dispatcher(engine, build_channels(settings, wall_clock=clock), policy=policy, wall_clock=clock)
