"""Re-sending a notice: an audited engine command with an hourly limit per case.

A copy of an applicant or staff notice (never a webhook delivery) is queued again; the
request is counted in ``notice_resends`` and recorded on the case's audit trail (kind
``notice``, event ``notice.resent``) in the same transaction, so the chain still verifies
and the trail says who asked for the copy and why.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.context import EngineContext, require_reason
from workflow.definition import Actor
from workflow.errors import CaseNotFound, InvalidInput, RateLimited
from workflow.statuses import Channel, NoticeStatus
from workflow.tables import cases, notice_resends, notices
from workflow.writes import Change

MAX_NOTICE_KEY = 200  # notices.idempotency_key
_COPIED = ("case_id", "kind", "channel", "recipient", "context")


class NoticeCommands:
    def __init__(self, context: EngineContext) -> None:
        self.context = context

    def resend(
        self, case_id: int, *, notice_id: int, actor: Actor, reason: str | None, per_hour: int
    ) -> dict[str, Any]:
        """Queue a copy of a notice within the per-case hourly limit; the copy's outbox row.

        Requests for one case are serialised (``FOR UPDATE`` on the case row on PostgreSQL;
        SQLite write transactions already start with ``BEGIN IMMEDIATE``), so two at once
        cannot both pass the limit; the copy's outbox key carries the re-send's own row id,
        so two copies queued in the same second never collide.
        """
        if isinstance(notice_id, bool) or not isinstance(notice_id, int):
            raise InvalidInput("notice id must be an integer", case_id=case_id, field="notice_id")
        reason = require_reason(reason, case_id=case_id) if reason is not None else None
        now = self.context.clock.now()
        with self.context.store.transaction(case_id=case_id, event="notice.resent") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(cases.c.id).where(cases.c.id == case_id).with_for_update())
            loaded = self.context.store.load(conn, case_id, with_deadlines=False)
            original = _original(conn, case_id, notice_id)
            _check_limit(conn, case_id, now, per_hour)
            copy = _queue_copy(conn, original, actor, now)
            change = Change(
                kind="notice",
                actor=actor,
                event="notice.resent",
                from_state=loaded.row["state"],
                to_state=loaded.row["state"],
                reason=reason,
                new_values={
                    "notice_id": notice_id,
                    "copy_id": copy["id"],
                    "notice": f"{copy['kind']}/{copy['channel']}",
                },
            )
            self.context.write(conn, self.context.process(loaded.row), loaded, change, now)
        return copy


def _original(conn: sa.Connection, case_id: int, notice_id: int) -> sa.RowMapping:
    original = (
        conn.execute(
            sa.select(notices).where(
                notices.c.id == notice_id, notices.c.case_id == case_id, notices.c.channel != Channel.WEBHOOK.value
            )
        )
        .mappings()
        .first()
    )
    if original is None:
        raise CaseNotFound(f"case {case_id} has no notice {notice_id}", case_id=case_id, field="notice_id")
    return original


def _check_limit(conn: sa.Connection, case_id: int, now: datetime, per_hour: int) -> None:
    recent = conn.execute(
        sa.select(sa.func.count()).where(
            notice_resends.c.case_id == case_id, notice_resends.c.at > now - timedelta(hours=1)
        )
    ).scalar_one()
    if recent >= per_hour:
        raise RateLimited(
            f"at most {per_hour} notice re-sends per case per hour",
            retry_after_seconds=3600,
            case_id=case_id,
            field="notice_id",
        )


def _queue_copy(conn: sa.Connection, original: sa.RowMapping, actor: Actor, now: datetime) -> dict[str, Any]:
    """Count the re-send and queue the copy; the copy's row as stored."""
    inserted = conn.execute(
        notice_resends.insert().values(case_id=original["case_id"], notice_id=original["id"], actor=actor.name, at=now)
    ).inserted_primary_key
    assert inserted is not None
    values = {k: original[k] for k in _COPIED}
    values.update(
        idempotency_key=resend_key(original["idempotency_key"], inserted[0]),
        status=NoticeStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    new_id = conn.execute(notices.insert().values(**values)).inserted_primary_key
    assert new_id is not None
    return dict(conn.execute(sa.select(notices).where(notices.c.id == new_id[0])).mappings().one())


def resend_key(original: str, resend_id: int) -> str:
    """The outbox key of a copy: unique by the re-send's row id, within the column's 200 characters."""
    key = f"{original}/resend/{resend_id}"
    if len(key) > MAX_NOTICE_KEY:
        key = f"resend/{resend_id}/{hashlib.sha256(original.encode()).hexdigest()}"
    return key
