"""The outbox rows a dispatcher holds: claim a batch, keep the claim, record outcomes.

A claim is ``attempts + 1`` and a lease (``next_attempt_at`` pushed to now + lease) on
each row, committed before anything is sent; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
keeps two dispatchers from claiming one row at once. The lease alone is not enough: a
batch of slow sends can outlive it and another dispatcher would claim and send the rest
again. So :class:`Hold` re-checks the claim before each send, conditionally on
``(id, attempts)`` (each claim bumps ``attempts``, so a row claimed again by someone else
no longer matches) and ``status = 'pending'``, pushing the lease forward; a row that is
no longer ours is skipped. To keep round trips off the per-message path, one short
transaction both records the sends since the last one as ``sent`` and renews the claim
on the next ``commit_every`` rows; a renewal is trusted for half a lease (by the
engine's clock, the one leases are compared with).

At-least-once: a notice is marked ``sent`` only after the server took it, and the marks
are committed every ``commit_every`` sends (or sooner, every ``commit_interval``). A
dispatcher killed mid-batch therefore re-sends, after its lease ends, at most
``commit_every`` notices: the one in flight and up to ``commit_every - 1`` sent but not
yet recorded, each with the same Message-ID / idempotency key. ``commit_every = 1``
gives at most the one in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.tables import cases, notices, webhook_subscriptions

_MARK_SENT = (
    notices.update()
    .where(notices.c.id == sa.bindparam("nid"), notices.c.status == "pending")
    .values(status="sent", sent_at=sa.bindparam("at"), provider_id=sa.bindparam("pid"), last_error=None)
)


def _ours(rows: Sequence[tuple[int, int]]) -> sa.ColumnElement[bool]:
    """Rows still held by this claim: same id, same attempts count, still pending."""
    return sa.and_(notices.c.status == "pending", sa.tuple_(notices.c.id, notices.c.attempts).in_(list(rows)))


def claim(database: sa.Engine, *, now: datetime, limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due notices (oldest due first) with their program and subscription."""
    with database.begin() as conn:
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
            .values(attempts=notices.c.attempts + 1, next_attempt_at=now + lease)
        )
        found = conn.execute(
            sa.select(notices, cases.c.program_key, cases.c.program_version)
            .join(cases, cases.c.id == notices.c.case_id)
            .where(notices.c.id.in_(ids))
        ).mappings()
        by_id = {row["id"]: dict(row) for row in found}
        rows = [by_id[nid] for nid in ids]  # in the order they fell due
        hooks = {int(r["recipient"]) for r in rows if r["channel"] == "webhook" and str(r["recipient"]).isdigit()}
        subscriptions = {}
        if hooks:
            subs = conn.execute(sa.select(webhook_subscriptions).where(webhook_subscriptions.c.id.in_(hooks)))
            subscriptions = {row["id"]: dict(row) for row in subs.mappings()}
        for row in rows:
            if row["channel"] == "webhook":
                row["subscription"] = subscriptions.get(int(row["recipient"])) if row["recipient"].isdigit() else None
        return rows


class Hold:
    """One dispatcher's claim on a batch: verified ahead of each send, outcomes recorded in bulk.

    ``now`` is the engine's clock: every dispatcher compares leases with it, so it also
    says how long a renewal is trusted; ``monotonic`` only times when marks are due.
    """

    def __init__(
        self,
        database: sa.Engine,
        rows: Sequence[dict[str, Any]],
        *,
        now: Callable[[], datetime],
        lease: timedelta,
        commit_every: int,
        commit_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._now = now
        self._lease = lease
        self._commit_every = max(commit_every, 1)
        self._commit_interval = commit_interval
        self._monotonic = monotonic
        self._attempts = {row["id"]: row["attempts"] for row in rows}  # the claim: id -> attempts
        self._order = [row["id"] for row in rows]
        self._position = {nid: i for i, nid in enumerate(self._order)}
        self._verified: set[int] = set()
        self._trusted_until: datetime | None = None
        self._marks: list[dict[str, Any]] = []
        self._first_mark_at = 0.0

    def __repr__(self) -> str:
        return f"Hold({len(self._attempts)} notices, {len(self._marks)} marks pending)"

    def still_ours(self, notice_id: int) -> bool:
        """True if the claim on ``notice_id`` was verified less than half a lease ago (renewing if not)."""
        trusted = self._trusted_until is not None and self._now() < self._trusted_until
        if not (trusted and notice_id in self._verified):
            self.flush(renew_from=notice_id)
        return notice_id in self._verified

    def sent(self, notice_id: int, provider_id: str) -> None:
        """Record a delivery; committed with the next flush (every ``commit_every`` or ``commit_interval``)."""
        if not self._marks:
            self._first_mark_at = self._monotonic()
        self._marks.append({"nid": notice_id, "pid": provider_id[:200], "at": self._now()})
        self._verified.discard(notice_id)
        if len(self._marks) >= self._commit_every or self._monotonic() - self._first_mark_at >= self._commit_interval:
            position = self._position[notice_id] + 1
            self.flush(renew_from=self._order[position] if position < len(self._order) else None)

    def flush(self, *, renew_from: int | None = None) -> None:
        """One transaction: commit the pending sent-marks and renew the next ``commit_every`` claims."""
        marks, self._marks = self._marks, []
        renew: list[tuple[int, int]] = []
        if renew_from is not None:
            start = self._position[renew_from]
            following = (nid for nid in self._order[start:] if nid in self._attempts)
            renew = [(nid, self._attempts[nid]) for nid, _ in zip(following, range(self._commit_every), strict=False)]
        if not marks and not renew:
            return
        with self._database.begin() as conn:
            if marks:
                conn.execute(_MARK_SENT, marks)
            if renew:
                now = self._now()
                renewal = notices.update().where(_ours(renew)).values(next_attempt_at=now + self._lease)
                renewed = conn.execute(renewal.returning(notices.c.id)).scalars()
                self._verified = set(renewed)
                self._trusted_until = now + self._lease / 2

    def release(self, notice_ids: Sequence[int], *, until: datetime, reason: str) -> int:
        """Give rows back unattempted (this claim's attempt uncounted), due again just before ``until``.

        They keep their order, one microsecond apart, so whoever is tried first next time
        is the first of them, and a notice that failed at ``until`` queues behind them all.
        """
        rows = [(nid, self._attempts.pop(nid)) for nid in notice_ids if nid in self._attempts]
        if not rows:
            return 0
        due = {nid: until - timedelta(microseconds=len(rows) - i) for i, (nid, _) in enumerate(rows)}
        with self._database.begin() as conn:
            released = conn.execute(
                notices.update()
                .where(_ours(rows))
                .values(
                    attempts=notices.c.attempts - 1,
                    next_attempt_at=sa.case(due, value=notices.c.id),
                    last_error=reason[:2000],
                )
            ).rowcount
        return int(released)

    def ours(self, notice_id: int) -> sa.ColumnElement[bool]:
        """WHERE clause for an outcome written about ``notice_id``: only while this claim holds it."""
        return _ours([(notice_id, self._attempts[notice_id])])
