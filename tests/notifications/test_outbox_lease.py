"""The claim a dispatcher holds: re-verified before each send, so a slow batch is never sent twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from app.delivery import build_dispatcher
from app.settings import Settings
from notifications.dispatcher import DispatchReport
from notifications.outbox import Hold, claim
from tests.notifications.cases import rows, submitted
from tests.support.smtp import SmtpServer
from workflow.clock import ManualClock
from workflow.engine import Engine

LEASE = timedelta(minutes=2)


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
    for serial in (1, 2, 3):
        submitted(engine, serial, phone=False)  # 6 emails
    held = claim(engine.database, now=clock.now(), limit=6, lease=LEASE)
    hold = Hold(engine.database, held, now=clock.now, lease=LEASE, commit_every=2, commit_interval=60)
    sent, taken_by_other = [], set()
    for notice in held:
        if hold.still_ours(notice["id"]):
            sent.append(notice["id"])
            hold.sent(notice["id"], "test")
        clock.advance(timedelta(seconds=50))  # each send takes 50 s: six outlive the 2-minute lease
        taken_by_other |= {n["id"] for n in claim(engine.database, now=clock.now(), limit=6, lease=LEASE)}
    hold.flush()
    assert len(sent) >= 4, "renewed ahead of each send, most of the batch stays with its holder"
    assert taken_by_other, "rows not yet renewed when their first lease ran out were claimable"
    assert not (set(sent) & taken_by_other), "nothing is sent by both"
    assert set(sent) | taken_by_other == {n["id"] for n in held}


def test_sent_marks_are_committed_every_n_sends_or_after_the_interval(engine: Engine, clock: ManualClock) -> None:
    for serial in (1, 2, 3):
        submitted(engine, serial, phone=False)
    held = claim(engine.database, now=clock.now(), limit=6, lease=LEASE)
    seconds = [0.0]  # the monotonic clock that times commits
    hold = Hold(
        engine.database,
        held,
        now=clock.now,
        lease=LEASE,
        commit_every=3,
        commit_interval=0.05,
        monotonic=lambda: seconds[0],
    )

    def statuses() -> list[str]:
        return [r["status"] for r in rows(engine)]

    def send(nid: int) -> None:
        assert hold.still_ours(nid)
        hold.sent(nid, f"id-{nid}")

    ids = [n["id"] for n in held]
    send(ids[0])
    send(ids[1])
    assert statuses() == ["pending"] * 6, "two sends: not committed yet"
    send(ids[2])
    assert statuses() == ["sent"] * 3 + ["pending"] * 3, "the third send commits all three"
    send(ids[3])
    assert statuses() == ["sent"] * 3 + ["pending"] * 3
    seconds[0] += 0.06
    send(ids[4])
    assert statuses() == ["sent"] * 5 + ["pending"], "50 ms after the first uncommitted send: committed"
    send(ids[5])
    hold.flush()
    assert statuses() == ["sent"] * 6
    assert [r["provider_id"] for r in rows(engine)] == [f"id-{nid}" for nid in ids]
