"""Re-sending a notice is an engine command: audited on the case, limited per hour, nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.invariants import assert_invariants, database_image
from tests.support.longgang import PLATFORM, PROGRAM, STAFF, applicant, complete_data
from workflow.audit import verify_chains
from workflow.clock import ManualClock
from workflow.engine import Engine
from workflow.errors import CaseNotFound, InvalidInput, RateLimited
from workflow.tables import notice_resends, notices


@pytest.fixture
def submitted(engine: Engine) -> int:
    case = engine.open_case(PROGRAM, applicant=applicant(), data=complete_data(), actor=PLATFORM)
    return engine.fire(case.id, "submit", actor=PLATFORM).id


def _notice(engine: Engine, case_id: int, channel: str) -> int:
    with engine.database.connect() as conn:
        found = conn.execute(
            sa.select(notices.c.id)
            .where(notices.c.case_id == case_id, notices.c.channel == channel)
            .order_by(notices.c.id)
            .limit(1)
        ).scalar()
    assert found is not None
    return int(found)


def test_a_resend_queues_a_copy_and_is_audited_in_the_same_transaction(
    engine: Engine, submitted: int, audit_key: bytes
) -> None:
    sms = _notice(engine, submitted, "sms")
    before = engine.get_case(submitted).version
    copy = engine.resend_notice(submitted, notice_id=sms, actor=STAFF, reason="申请人称未收到短信")
    assert copy["id"] != sms
    assert copy["status"] == "pending"
    assert copy["channel"] == "sms"
    assert copy["idempotency_key"].endswith("/resend/1")
    last = engine.history(submitted)[-1]
    assert (last.kind, last.event, last.actor, last.reason) == (
        "notice",
        "notice.resent",
        STAFF.name,
        "申请人称未收到短信",
    )
    assert last.new_values["notice_id"] == sms
    assert last.new_values["copy_id"] == copy["id"]
    assert engine.get_case(submitted).version == before + 1, "one audit event, one version"
    with engine.database.connect() as conn:
        assert verify_chains(conn, audit_key, programs=engine.programs).ok
    assert_invariants(engine, audit_key)


def test_the_hourly_limit_refuses_the_fourth_resend_and_writes_nothing(
    engine: Engine, submitted: int, clock: ManualClock
) -> None:
    sms = _notice(engine, submitted, "sms")
    for _ in range(3):
        engine.resend_notice(submitted, notice_id=sms, actor=PLATFORM)
    before = database_image(engine)
    with pytest.raises(RateLimited) as raised:
        engine.resend_notice(submitted, notice_id=sms, actor=PLATFORM)
    assert raised.value.status == 429
    assert raised.value.retry_after_seconds == 3600
    assert database_image(engine) == before, "a refused re-send writes nothing"
    clock.advance(timedelta(hours=1, seconds=1))
    engine.resend_notice(submitted, notice_id=sms, actor=PLATFORM)  # the window has moved on
    with engine.database.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notice_resends)).scalar() == 4


def test_the_limit_is_a_parameter(engine: Engine, submitted: int) -> None:
    sms = _notice(engine, submitted, "sms")
    engine.resend_notice(submitted, notice_id=sms, actor=PLATFORM, per_hour=1)
    with pytest.raises(RateLimited):
        engine.resend_notice(submitted, notice_id=sms, actor=PLATFORM, per_hour=1)


def test_an_unknown_notice_is_refused_naming_notice_id(engine: Engine, submitted: int) -> None:
    before = database_image(engine)
    with pytest.raises(CaseNotFound) as raised:
        engine.resend_notice(submitted, notice_id=999_999, actor=STAFF)
    assert raised.value.field == "notice_id"
    with pytest.raises(InvalidInput) as bad:
        engine.resend_notice(submitted, notice_id="1", actor=STAFF)  # type: ignore[arg-type]
    assert bad.value.field == "notice_id"
    assert database_image(engine) == before


def test_another_cases_notice_and_webhook_rows_are_not_resent(engine: Engine, submitted: int) -> None:
    other = engine.open_case(PROGRAM, applicant=applicant(2), data=complete_data(), actor=PLATFORM)
    foreign = _notice(engine, engine.fire(other.id, "submit", actor=PLATFORM).id, "sms")
    with pytest.raises(CaseNotFound) as raised:
        engine.resend_notice(submitted, notice_id=foreign, actor=STAFF)
    assert raised.value.field == "notice_id"
