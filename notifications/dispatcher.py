"""The outbox dispatcher: claims due notices, renders, sends, records; never changes a case.

At-least-once with a stable key: a batch is *claimed* first (:mod:`notifications.outbox`),
each claim is verified just before its notice is sent, and sends are recorded in groups
(:mod:`notifications.hold`: the lease, and exactly how many a crash re-sends). While one
notice is on the wire the next is rendered, so the CPU work overlaps the network wait.
A dispatcher killed mid-batch loses nothing: unsent claimed notices come due again when
their lease ends, with the same ``Message-ID`` / idempotency key.

A transient failure is retried with exponential backoff and jitter; after
``max_attempts`` (or at once, for a permanent failure) the notice is ``dead`` with its
last error, and the staff mailbox is told. When a channel's server cannot be reached
(:class:`ChannelDown`) only the notice that found out spends an attempt: the rest of that
channel's batch goes back unattempted, so an hour-long SMTP outage costs one attempt per
batch, not one per notice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa

from notifications.context import build_context
from notifications.email import EmailChannel, Sender, build_message, valid_address
from notifications.errors import ChannelDown, DeliveryFailed
from notifications.hold import Hold
from notifications.ics import deadline_calendar
from notifications.outbox import claim
from notifications.rendering import Renderer, TemplateMissing
from notifications.sms import SmsGateway
from notifications.webhooks import WebhookSender
from workflow.clock import Clock, SystemClock
from workflow.errors import UnknownProgram
from workflow.services import EngineServices
from workflow.tables import notices

log = logging.getLogger("filingflow.notifications")
STAFF = "staff"
Send = Callable[[], Awaitable[str]]  # delivers one prepared notice, returns the provider id


async def _fail(failure: DeliveryFailed) -> str:
    raise failure


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 200
    commit_every: int = 1  # at most this many sends unrecorded at once: a crash re-sends at most this many
    commit_interval: float = 0.05  # ...or commit after this many seconds, whichever comes first

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
    held_back: int = 0  # not attempted: their channel was down (attempt not counted)
    skipped: int = 0  # claim lost to another dispatcher before sending (not ours to send)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.claimed} claimed, {self.sent} sent, {self.retried} to retry, {self.dead} dead, "
            f"{self.held_back} held back, {self.skipped} skipped"
        )

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "retried", "dead", "held_back", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


@dataclass(frozen=True, slots=True)
class Channels:
    """Where notices go: an email channel factory (one per batch), an SMS gateway, the staff mailbox."""

    email: Callable[[], EmailChannel]
    sms: Callable[[], SmsGateway]
    sender: Sender
    staff_email: str


class Dispatcher:
    """Delivers the outbox. ``wall_clock`` dates what leaves the system (email ``Date``,
    webhook signatures): real time even when the engine runs on a sandbox clock."""

    def __init__(
        self,
        engine: EngineServices,
        channels: Channels,
        *,
        policy: OutboxPolicy | None = None,
        renderer: Renderer | None = None,
        rng: random.Random | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self._policy = policy or OutboxPolicy()
        self._renderer = renderer or Renderer()
        self._rng = rng or random.Random()
        self._wall_clock = wall_clock or SystemClock()

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
            total.add(report)
            if not report.claimed:
                break
        return total

    async def dispatch_batch(self, *, limit: int | None = None) -> DispatchReport:
        report = DispatchReport()
        policy, clock = self._policy, self._engine.clock
        claimed_at = clock.now()
        claimed = claim(self._engine.database, now=claimed_at, limit=limit or policy.batch, lease=policy.lease)
        report.claimed = len(claimed)
        if not claimed:
            return report
        hold = Hold(
            self._engine.database,
            claimed,
            claimed_at=claimed_at,
            now=clock.now,
            lease=policy.lease,
            commit_every=policy.commit_every,
            commit_interval=policy.commit_interval,
        )
        down: dict[str, ChannelDown] = {}  # channel -> why it is down for the rest of this batch
        webhooks = WebhookSender(now=self._wall_clock.now)
        try:
            async with self._channels.email() as email, self._channels.sms() as sms, webhooks:
                channels = (email, sms, webhooks)
                ahead: dict[int, Send] = {}  # the next notice, rendered while the current one is on the wire
                for position, notice in enumerate(claimed):
                    if notice["channel"] in down:
                        continue
                    if not await hold.before_send(notice["id"]):
                        report.skipped += 1
                        log.warning("notice %s was claimed again by another dispatcher: skipped", notice["id"])
                        continue
                    send = ahead.pop(notice["id"], None) or self._prepared(notice, *channels)
                    sending = asyncio.ensure_future(send())
                    await asyncio.sleep(0)  # let it start (build the bytes, send the first command)...
                    following = next((n for n in claimed[position + 1 :] if n["channel"] not in down), None)
                    if following is not None:  # ...and render the next one meanwhile
                        ahead[following["id"]] = self._prepared(following, *channels)
                    try:
                        provider_id = await sending
                    except DeliveryFailed as failure:
                        retry_at = self._failed(notice, failure, report, hold)
                        if isinstance(failure, ChannelDown):
                            down[notice["channel"]] = failure
                            self._hold_back(notice, claimed[position + 1 :], hold, retry_at, failure, report)
                    else:
                        hold.sent(notice["id"], provider_id)
                        report.sent += 1
        finally:
            await hold.close()
        return report

    # ---- steps ------------------------------------------------------------------------

    def _prepared(self, notice: dict[str, Any], email: EmailChannel, sms: SmsGateway, webhooks: WebhookSender) -> Send:
        """The notice's send, rendered and built; one that cannot be built fails when it is sent."""
        try:
            return self._prepare(notice, email, sms, webhooks)
        except DeliveryFailed as failure:
            return partial(_fail, failure)

    def _prepare(self, notice: dict[str, Any], email: EmailChannel, sms: SmsGateway, webhooks: WebhookSender) -> Send:
        if notice["channel"] == "webhook":
            return partial(self._deliver_webhook, notice, webhooks)
        try:
            process = self._engine.programs.get(notice["program_key"], notice["program_version"])
        except UnknownProgram as exc:
            raise DeliveryFailed(str(exc), transient=False) from exc
        context = build_context(notice["context"], process, kind=notice["kind"], channel=notice["channel"])
        program, kind = process.definition, notice["kind"]
        try:
            if notice["channel"] == "sms":
                text = self._renderer.sms(program, kind, context)
                return partial(sms.send, to=notice["recipient"], text=text, idempotency_key=notice["idempotency_key"])
            if notice["channel"] == "email":
                rendered = self._renderer.email(program, kind, context)
                to = self._channels.staff_email if notice["recipient"] == STAFF else notice["recipient"]
                if not valid_address(to):
                    raise DeliveryFailed(f"not an email address: {to!r}", transient=False)
                sent_at = self._wall_clock.now()
                message = build_message(
                    rendered,
                    sender=self._channels.sender,
                    to=to,
                    idempotency_key=notice["idempotency_key"],
                    sent_at=sent_at,
                    calendar=None  # staff alerts carry no calendar; an applicant's deadline does (notifications/ics.py)
                    if notice["recipient"] == STAFF
                    else deadline_calendar(
                        notice["context"],
                        process,
                        domain=self._channels.sender.address.rpartition("@")[2],
                        stamp=sent_at,
                    ),
                )
                return partial(email.send, message)
        except TemplateMissing as exc:
            raise DeliveryFailed(str(exc), transient=False) from exc
        except DeliveryFailed:
            raise
        except Exception as exc:  # a template that fails to render is a permanent fault of that notice
            raise DeliveryFailed(f"rendering failed: {exc!r}", transient=False) from exc
        raise DeliveryFailed(f"unknown channel {notice['channel']!r}", transient=False)

    async def _deliver_webhook(self, notice: dict[str, Any], sender: WebhookSender) -> str:
        subscription = notice.get("subscription")
        if subscription is None or not subscription["active"]:
            raise DeliveryFailed(f"webhook subscription {notice['recipient']} is gone", transient=False)
        return await sender.send(
            url=subscription["url"],
            secret=subscription["secret"],
            payload=notice["context"],
            idempotency_key=notice["idempotency_key"],
        )

    def _failed(self, notice: dict[str, Any], failure: DeliveryFailed, report: DispatchReport, hold: Hold) -> datetime:
        """Record a failed attempt (retry later, or dead); returns when it will be tried again."""
        now = self._engine.clock.now()
        attempts = notice["attempts"]  # already counted when the batch was claimed
        dead = not failure.transient or attempts >= self._policy.max_attempts
        retry_at = now + self._policy.backoff(attempts, self._rng)
        report.errors.append(f"notice {notice['id']}: {failure}")
        with self._engine.database.begin() as conn:
            values: dict[str, Any] = {"last_error": str(failure)[:2000]}
            if dead:
                values["status"] = "dead"
            else:
                values["next_attempt_at"] = retry_at
            recorded = conn.execute(notices.update().where(hold.ours(notice["id"])).values(**values)).rowcount
            if dead and recorded and notice["recipient"] != STAFF and notice["channel"] != "webhook":
                self._alert_staff(conn, notice, str(failure), now)
        if dead:
            report.dead += 1
            log.error("notice %s (%s/%s) is dead: %s", notice["id"], notice["kind"], notice["channel"], failure)
        else:
            report.retried += 1
            log.warning("notice %s will be retried: %s", notice["id"], failure)
        return retry_at

    def _hold_back(
        self,
        failed: dict[str, Any],
        following: list[dict[str, Any]],
        hold: Hold,
        retry_at: datetime,
        failure: ChannelDown,
        report: DispatchReport,
    ) -> None:
        """The channel is down: give its other notices in this batch back, unattempted.

        They come due, in order, just before the notice that failed, so the next probe of
        the channel spends an attempt of the next notice in line (round robin, one per batch).
        """
        rest = [n["id"] for n in following if n["channel"] == failed["channel"]]
        released = hold.release(rest, until=retry_at, reason=f"not attempted, channel down: {failure}")
        report.held_back += released
        if released:
            log.warning("%s down: %s notices held back until %s", failed["channel"], released, retry_at.isoformat())

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


def retry_notice(engine: EngineServices, notice_id: int) -> bool:
    """Put a dead notice back in the queue (staff, after fixing the cause); True if it was dead."""
    now = engine.clock.now()
    with engine.database.begin() as conn:
        updated = conn.execute(
            notices.update()
            .where(notices.c.id == notice_id, notices.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        return bool(updated.rowcount)
