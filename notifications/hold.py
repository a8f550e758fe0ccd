"""A dispatcher's hold on its claimed batch: each claim verified before its send, sends recorded in bulk.

Why: the lease a claim takes (:func:`notifications.outbox.claim`) can run out while a slow
batch is still sending, and another dispatcher then claims and sends the rest again. So
before each send the claim must still be ours. A row can only be claimed by someone else
once its lease has run out, so for the first half of its lease (by the engine's clock, the
one every dispatcher compares leases with) the claim itself is the proof. Past that, a
conditional ``UPDATE`` on ``(id, attempts)`` (each claim bumps ``attempts``, so a row
claimed again by someone else no longer matches) and ``status = 'pending'`` renews the
next ``commit_every`` rows, and a row that no longer matches is skipped.

Speed: one transaction per message (and its fsync, ``synchronous=FULL`` on SQLite) would
cost more than the send. So sends are recorded ``sent`` in groups, by a transaction in a
worker thread while the event loop goes on sending.

At-least-once, bounded: a notice is recorded ``sent`` only after the server took it, and
no send starts while ``commit_every`` sends (counting it) would be unrecorded. A dispatcher
killed mid-batch therefore re-sends, after its lease ends, at most ``commit_every``
notices, each with the same Message-ID / idempotency key; ``commit_every = 1`` is at
most the one in flight. Marks are also written when the oldest is ``commit_interval`` old.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from notifications.outbox import MARK_SENT, RENEW, by_attempts, held_by
from workflow.tables import notices


class Hold:
    """The claim on one batch. Use from one event loop; close it (``await hold.close()``) at the end."""

    def __init__(
        self,
        database: sa.Engine,
        rows: Sequence[dict[str, Any]],
        *,
        claimed_at: datetime,
        now: Callable[[], datetime],
        lease: timedelta,
        commit_every: int,
        commit_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._now = now
        self._lease = lease
        self._every = max(commit_every, 1)
        self._interval = commit_interval
        self._monotonic = monotonic
        self._attempts = {row["id"]: row["attempts"] for row in rows}  # the claim: id -> attempts
        self._order = [row["id"] for row in rows]
        self._position = {nid: i for i, nid in enumerate(self._order)}
        trusted = claimed_at + lease / 2  # the claim's own lease proves it, for half its length
        self._trusted = dict.fromkeys(self._order, trusted)  # id -> ours at least until (engine clock)
        self._marks: list[dict[str, Any]] = []
        self._first_mark_at = 0.0
        self._writing: asyncio.Task[None] | None = None
        self._writing_marks = 0

    def __repr__(self) -> str:
        return f"Hold({len(self._attempts)} notices, {len(self._marks)} marks pending)"

    # ---- the send path --------------------------------------------------------------

    async def before_send(self, notice_id: int) -> bool:
        """Wait until sending ``notice_id`` keeps the bound, and say whether it is still ours."""
        self._reap()
        while len(self._marks) + self._writing_marks + 1 > self._every:
            await self.close()
        if not self._is_trusted(notice_id):
            await self._settle()
            await self._write(self._take_marks(), self._chunk(self._position[notice_id], self._every))
        return self._is_trusted(notice_id)

    def sent(self, notice_id: int, provider_id: str) -> None:
        """Record a delivery; written in the background once ``commit_every`` are due or the oldest is old."""
        if not self._marks:
            self._first_mark_at = self._monotonic()
        self._marks.append({"nid": notice_id, "pid": provider_id[:200], "at": self._now()})
        self._trusted.pop(notice_id, None)
        self._reap()
        due = len(self._marks) >= -(-self._every // 2) or self._monotonic() - self._first_mark_at >= self._interval
        if due and self._writing is None:
            self._start(self._take_marks())

    async def close(self) -> None:
        """Write everything still pending (also after an error: a recorded send is not sent again)."""
        await self._settle()
        await self._write(self._take_marks(), [])

    # ---- outcomes other than sent (rare: written at once) -----------------------------

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
                .where(held_by(rows))
                .values(
                    attempts=notices.c.attempts - 1,
                    next_attempt_at=sa.case(due, value=notices.c.id),
                    last_error=reason[:2000],
                )
            ).rowcount
        return int(released)

    def ours(self, notice_id: int) -> sa.ColumnElement[bool]:
        """WHERE clause for an outcome written about ``notice_id``: only while this claim holds it."""
        return held_by([(notice_id, self._attempts[notice_id])])

    # ---- internals --------------------------------------------------------------------

    def _is_trusted(self, notice_id: int) -> bool:
        until = self._trusted.get(notice_id)
        return until is not None and self._now() < until

    def _chunk(self, start: int, size: int) -> list[tuple[int, int]]:
        """Up to ``size`` rows still held and not yet sent, from position ``start``."""
        chunk: list[tuple[int, int]] = []
        for nid in self._order[start:]:
            if len(chunk) == size:
                break
            if nid in self._attempts and nid in self._trusted:
                chunk.append((nid, self._attempts[nid]))
        return chunk

    def _take_marks(self) -> list[dict[str, Any]]:
        marks, self._marks = self._marks, []
        return marks

    def _start(self, marks: list[dict[str, Any]]) -> None:
        if marks:
            self._writing_marks = len(marks)
            self._writing = asyncio.ensure_future(self._write(marks, []))

    def _reap(self) -> None:
        """Forget a background write that has finished (raising its error, if it failed)."""
        if self._writing is not None and self._writing.done():
            writing, self._writing, self._writing_marks = self._writing, None, 0
            writing.result()

    async def _settle(self) -> None:
        """Wait for the write in the background, if any (and raise its error)."""
        if self._writing is not None:
            writing = self._writing
            try:
                await writing
            finally:
                self._writing, self._writing_marks = None, 0

    async def _write(self, marks: list[dict[str, Any]], renew: list[tuple[int, int]]) -> None:
        """One transaction in a worker thread: the sent-marks, then the renewals (a row not renewed is lost)."""
        if not marks and not renew:
            return
        now = self._now()
        renewed = await asyncio.to_thread(self._commit, marks, renew, now)
        for nid, _ in renew:
            self._trusted.pop(nid, None)
        for nid in renewed:
            self._trusted[nid] = now + self._lease / 2

    def _commit(self, marks: list[dict[str, Any]], renew: list[tuple[int, int]], now: datetime) -> list[int]:
        with self._database.begin() as conn:
            if marks:
                conn.execute(MARK_SENT, marks)
            renewed: list[int] = []
            for attempts, ids in by_attempts(renew).items():
                found = conn.execute(RENEW, {"held_attempts": attempts, "ids": ids, "until": now + self._lease})
                renewed.extend(found.scalars())
            return renewed
