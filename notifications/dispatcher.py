"""The outbox dispatcher: claims due notices, renders, sends, records; never changes a case.

At-least-once with a stable key: a batch is *claimed* first (``attempts + 1`` and a lease
pushing ``next_attempt_at`` forward, committed, with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL so two dispatchers never claim one notice), then each notice is sent and
marked ``sent`` in its own transaction. A dispatcher killed mid-batch loses nothing:
unsent claimed notices come due again when their lease ends, and only the one in flight
can be delivered twice, with the same ``Message-ID`` / idempotency key.

A transient failure is retried with exponential backoff and jitter; after
``max_attempts`` (or at once, for a permanent failure) the notice is ``dead`` with its
last error, and the staff mailbox is told.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from notifications.context import build_context
from notifications.email import EmailChannel, Sender, build_message, valid_address
from notifications.errors import DeliveryFailed
from notifications.rendering import Renderer, TemplateMissing
from notifications.sms import SmsGateway
from notifications.webhooks import WebhookSender
from workflow.engine import Engine
from workflow.errors import UnknownProgram
from workflow.tables import cases, notices, webhook_subscriptions

log = logging.getLogger("filingflow.notifications")
STAFF = "staff"


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 200

    def backoff(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential (30 s, 1 min, 2 min, ...) capped at ``max_delay``, with +/-20 % jitter."""
        delay = min(self.base_delay * (2 ** max(attempts - 1, 0)), self.max_delay)
        return timedelta(seconds=delay.total_seconds() * rng.uniform(0.8, 1.2))


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.claimed} claimed, {self.sent} sent, {self.retried} to retry, {self.dead} dead"


@dataclass(frozen=True, slots=True)
class Channels:
    """Where notices go: an email channel factory (one per batch), an SMS gateway, the staff mailbox."""

    email: Callable[[], EmailChannel]
    sms: Callable[[], SmsGateway]
    sender: Sender
    staff_email: str


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        channels: Channels,
        *,
        policy: OutboxPolicy | None = None,
        renderer: Renderer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self._policy = policy or OutboxPolicy()
        self._renderer = renderer or Renderer()
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"Dispatcher(email={self._channels.email!r}, sms={self._channels.sms!r})"

    def dispatch_due(self, *, limit: int | None = None) -> DispatchReport:
        """Claim and deliver one batch of due notices (synchronous entry point)."""
        return asyncio.run(self.dispatch_batch(limit=limit))

    def dispatch_all(self, *, max_batches: int = 1000) -> DispatchReport:
        """Batch after batch until nothing is due."""
        total = DispatchReport()
        for _ in range(max_batches):
            report = self.dispatch_due()
            for name in ("claimed", "sent", "retried", "dead"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors.extend(report.errors)
            if not report.claimed:
                break
        return total

    async def dispatch_batch(self, *, limit: int | None = None) -> DispatchReport:
        report = DispatchReport()
        claimed = self._claim(limit or self._policy.batch)
        report.claimed = len(claimed)
        if not claimed:
            return report
        webhooks = WebhookSender(now=self._engine.clock.now)
        async with self._channels.email() as email, self._channels.sms() as sms, webhooks:
            for notice in claimed:
                try:
                    if notice["channel"] == "webhook":
                        provider_id = await self._deliver_webhook(notice, webhooks)
                    else:
                        provider_id = await self._deliver(notice, email, sms)
                except DeliveryFailed as failure:
                    self._failed(notice, failure, report)
                else:
                    self._sent(notice, provider_id)
                    report.sent += 1
        return report

    # ---- steps ------------------------------------------------------------------------

    def _claim(self, limit: int) -> list[dict[str, Any]]:
        now = self._engine.clock.now()
        with self._engine.database.begin() as conn:
            query = (
                sa.select(notices.c.id)
                .where(notices.c.status == "pending", notices.c.next_attempt_at <= now)
                .order_by(notices.c.next_attempt_at, notices.c.id)
                .limit(limit)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(
                notices.update()
                .where(notices.c.id.in_(ids))
                .values(attempts=notices.c.attempts + 1, next_attempt_at=now + self._policy.lease)
            )
            rows = conn.execute(
                sa.select(notices, cases.c.program_key, cases.c.program_version)
                .join(cases, cases.c.id == notices.c.case_id)
                .where(notices.c.id.in_(ids))
                .order_by(notices.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    async def _deliver(self, notice: dict[str, Any], email: EmailChannel, sms: SmsGateway) -> str:
        try:
            process = self._engine.programs.get(notice["program_key"], notice["program_version"])
        except UnknownProgram as exc:
            raise DeliveryFailed(str(exc), transient=False) from exc
        context = build_context(notice["context"], process, kind=notice["kind"], channel=notice["channel"])
        program, kind = process.key, notice["kind"]
        try:
            if notice["channel"] == "sms":
                text = self._renderer.sms(program, kind, context)
                return await sms.send(to=notice["recipient"], text=text, idempotency_key=notice["idempotency_key"])
            if notice["channel"] == "email":
                rendered = self._renderer.email(program, kind, context)
                to = self._channels.staff_email if notice["recipient"] == STAFF else notice["recipient"]
                if not valid_address(to):
                    raise DeliveryFailed(f"not an email address: {to!r}", transient=False)
                message = build_message(
                    rendered,
                    sender=self._channels.sender,
                    to=to,
                    idempotency_key=notice["idempotency_key"],
                    sent_at=self._engine.clock.now(),
                )
                return await email.send(message)
        except TemplateMissing as exc:
            raise DeliveryFailed(str(exc), transient=False) from exc
        except Exception as exc:  # a template that fails to render is a permanent fault of that notice
            if isinstance(exc, DeliveryFailed):
                raise
            raise DeliveryFailed(f"rendering failed: {exc!r}", transient=False) from exc
        raise DeliveryFailed(f"unknown channel {notice['channel']!r}", transient=False)

    async def _deliver_webhook(self, notice: dict[str, Any], sender: WebhookSender) -> str:
        with self._engine.database.connect() as conn:
            subscription = (
                conn.execute(
                    sa.select(webhook_subscriptions).where(webhook_subscriptions.c.id == int(notice["recipient"]))
                )
                .mappings()
                .first()
            )
        if subscription is None or not subscription["active"]:
            raise DeliveryFailed(f"webhook subscription {notice['recipient']} is gone", transient=False)
        return await sender.send(
            url=subscription["url"],
            secret=subscription["secret"],
            payload=notice["context"],
            idempotency_key=notice["idempotency_key"],
        )

    def _sent(self, notice: dict[str, Any], provider_id: str) -> None:
        now = self._engine.clock.now()
        with self._engine.database.begin() as conn:
            conn.execute(
                notices.update()
                .where(notices.c.id == notice["id"], notices.c.status == "pending")
                .values(status="sent", sent_at=now, provider_id=provider_id[:200], last_error=None)
            )

    def _failed(self, notice: dict[str, Any], failure: DeliveryFailed, report: DispatchReport) -> None:
        now = self._engine.clock.now()
        attempts = notice["attempts"]  # already counted when the batch was claimed
        dead = not failure.transient or attempts >= self._policy.max_attempts
        report.errors.append(f"notice {notice['id']}: {failure}")
        with self._engine.database.begin() as conn:
            values: dict[str, Any] = {"last_error": str(failure)[:2000]}
            if dead:
                values["status"] = "dead"
            else:
                values["next_attempt_at"] = now + self._policy.backoff(attempts, self._rng)
            conn.execute(
                notices.update().where(notices.c.id == notice["id"], notices.c.status == "pending").values(**values)
            )
            if dead and notice["recipient"] != STAFF and notice["channel"] != "webhook":
                self._alert_staff(conn, notice, str(failure), now)
        if dead:
            report.dead += 1
            log.error("notice %s (%s/%s) is dead: %s", notice["id"], notice["kind"], notice["channel"], failure)
        else:
            report.retried += 1
            log.warning("notice %s will be retried: %s", notice["id"], failure)

    def _alert_staff(self, conn: sa.Connection, notice: dict[str, Any], error: str, now: datetime) -> None:
        context = {
            **notice["context"],
            "failed_notice": {
                "id": notice["id"],
                "kind": notice["kind"],
                "channel": notice["channel"],
                "recipient": notice["recipient"],
                "last_error": error[:500],
            },
        }
        conn.execute(
            notices.insert().values(
                case_id=notice["case_id"],
                kind="notice_dead",
                channel="email",
                recipient=STAFF,
                idempotency_key=f"notice/{notice['id']}/dead/email",
                context=context,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def retry_notice(engine: Engine, notice_id: int) -> bool:
    """Put a dead notice back in the queue (staff, after fixing the cause); True if it was dead."""
    now = engine.clock.now()
    with engine.database.begin() as conn:
        updated = conn.execute(
            notices.update()
            .where(notices.c.id == notice_id, notices.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        return bool(updated.rowcount)
