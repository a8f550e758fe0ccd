"""The claim a dispatcher holds: re-verified before each send, so a slow batch is never sent twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.dispatcher import DispatchReport
from notifications.hold import Hold
from notifications.outbox import claim
from tests.notifications.cases import rows
from tests.support.longgang import submitted
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.engine import Engine

LEASE = timedelta(minutes=2)


def _hold(engine: Engine, clock: ManualClock, held: list[dict[str, Any]], **timing: Any) -> Hold:
    """The hold a dispatcher keeps on ``held``, on the test's clock and lease."""
    return Hold(engine.database, held, now=clock.now, lease=LEASE, **timing)


def test_a_batch_that_outlives_its_lease_skips_what_another_dispatcher_claimed(
    engine: Engine, delivery_settings: Settings, smtp: SmtpServer, clock: ManualClock
) -> None:
    for serial in (1, 2):
        submitted(engine, serial, phone=False)  # 4 emails
    settings = replace(delivery_settings, outbox_batch=4, outbox_lease_seconds=LEASE.total_seconds())
    first, second = build_dispatcher(settings, engine), build_dispatcher(settings, engine)
    smtp.mailbox.hold_for_sessions = 2  # the first dispatcher's first message hangs until the second connects
    reports: list[DispatchReport] = []
    slow = threading.Thread(target=lambda: reports.append(first.dispatch_due()))
    slow.start()
    deadline = time.monotonic() + 10
    while smtp.mailbox.sessions() < 1:  # the first is now sending its first notice
        assert time.monotonic() < deadline
        time.sleep(0.01)
    clock.advance(LEASE + timedelta(minutes=1))  # ...so slowly that its lease runs out
    taken = second.dispatch_due()
    slow.join(15)
    (slowed,) = reports
    assert (taken.claimed, taken.sent) == (4, 4), "the leases ran out: the second claims all four"
    assert (slowed.claimed, slowed.sent, slowed.skipped) == (4, 1, 3), slowed
    received = Counter(smtp.mailbox.message_ids())
    assert len(received) == 4
    assert sorted(received.values()) == [1, 1, 1, 2], "a duplicate only for the one that was in flight"
    assert {r["status"] for r in rows(engine)} == {"sent"}


def test_renewal_keeps_a_long_batch_and_never_sends_what_another_claim_took(engine: Engine, clock: ManualClock) -> None:
    for serial in (1, 2, 3, 4):
        submitted(engine, serial, phone=False)  # 8 emails
    started = clock.now()
    held = claim(engine.database, now=started, limit=8, lease=LEASE)
    sent, taken_by_other, sent_after = [], set(), []

    async def batch() -> None:
        hold = _hold(engine, clock, held, claimed_at=started, commit_every=2, commit_interval=60)
        for notice in held:
            if await hold.before_send(notice["id"]):
                sent.append(notice["id"])
                sent_after.append(clock.now() - started)
                hold.sent(notice["id"], "test")
            await asyncio.sleep(0.01)  # let a write in the background finish
            clock.advance(timedelta(seconds=50))  # each send takes 50 s: the batch outlives the 2-minute lease
            taken_by_other.update(n["id"] for n in claim(engine.database, now=clock.now(), limit=8, lease=LEASE))
        await hold.close()

    asyncio.run(batch())
    assert max(sent_after) > LEASE, "renewed claims were sent after the claim's own lease had run out"
    assert taken_by_other, "rows not yet renewed when their first lease ran out were claimable"
    assert not (set(sent) & taken_by_other), "nothing is sent by both"
    assert set(sent) | taken_by_other == {n["id"] for n in held}
    assert {r["id"] for r in rows(engine, status="sent")} == set(sent)


def test_sent_marks_are_recorded_before_commit_every_sends_are_unrecorded(engine: Engine, clock: ManualClock) -> None:
    for serial in (1, 2, 3, 4, 5):
        submitted(engine, serial, phone=False)  # 10 emails
    held = claim(engine.database, now=clock.now(), limit=10, lease=LEASE)
    seconds = [0.0]  # the monotonic clock that times commits
    unrecorded_at_send: list[int] = []

    def recorded() -> int:
        return len(rows(engine, status="sent"))

    async def batch(commit_every: int) -> None:
        hold = _hold(
            engine,
            clock,
            held,
            claimed_at=clock.now(),
            commit_every=commit_every,
            commit_interval=0.05,
            monotonic=lambda: seconds[0],
        )
        for done, notice in enumerate(held):
            assert await hold.before_send(notice["id"])
            unrecorded_at_send.append(done - recorded() + 1)  # counting the one about to go out
            hold.sent(notice["id"], f"id-{notice['id']}")
        await hold.close()

    asyncio.run(batch(4))
    assert max(unrecorded_at_send) <= 4, unrecorded_at_send
    assert max(unrecorded_at_send) >= 2, "marks are grouped, not one transaction per send"
    assert [r["provider_id"] for r in rows(engine)] == [f"id-{n['id']}" for n in held]


def test_commit_every_one_records_each_send_before_the_next(engine: Engine, clock: ManualClock) -> None:
    submitted(engine, 1, phone=False)
    submitted(engine, 2, phone=False)
    held = claim(engine.database, now=clock.now(), limit=4, lease=LEASE)
    unrecorded: list[int] = []

    async def batch() -> None:
        hold = _hold(engine, clock, held, claimed_at=clock.now(), commit_every=1, commit_interval=60)
        for done, notice in enumerate(held):
            assert await hold.before_send(notice["id"])
            unrecorded.append(done - len(rows(engine, status="sent")))
            hold.sent(notice["id"], "x")
        await hold.close()

    asyncio.run(batch())
    assert unrecorded == [0, 0, 0, 0], "at most the one in flight is unrecorded"
    assert len(rows(engine, status="sent")) == 4


def test_marks_older_than_the_interval_are_written_without_waiting_for_more(engine: Engine, clock: ManualClock) -> None:
    for serial in (1, 2, 3):
        submitted(engine, serial, phone=False)
    held = claim(engine.database, now=clock.now(), limit=6, lease=LEASE)
    seconds = [0.0]

    async def batch() -> list[int]:
        hold = _hold(
            engine,
            clock,
            held,
            claimed_at=clock.now(),
            commit_every=100,
            commit_interval=0.05,
            monotonic=lambda: seconds[0],
        )
        seen = []
        for notice in held[:3]:
            assert await hold.before_send(notice["id"])
            hold.sent(notice["id"], "x")
            await asyncio.sleep(0.05)  # a background write, if one started, is done
            seen.append(len(rows(engine, status="sent")))
        seconds[0] += 0.06
        assert await hold.before_send(held[3]["id"])
        hold.sent(held[3]["id"], "x")  # the oldest mark is now 60 ms old
        await asyncio.sleep(0.05)
        seen.append(len(rows(engine, status="sent")))
        await hold.close()
        return seen

    assert asyncio.run(batch()) == [0, 0, 0, 4]
