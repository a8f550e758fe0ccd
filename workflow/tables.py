"""The SQLModel tables: cases, audit events, deadlines, outbox notices, idempotency keys.

The tables are declared with SQLModel (one source of truth for the schema and its
Alembic migrations); the engine's write path uses their SQLAlchemy ``__table__`` with
Core statements, which costs a fraction of an ORM unit of work per command.

Types are chosen to survive both SQLite and PostgreSQL unchanged: money is integer fen
(``BIGINT``; SQLite would store a Decimal as a float), instants go through
:class:`UTCDateTime` (aware UTC in, aware UTC out, naive refused), payloads are JSON.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from workflow.statuses import DeadlineStatus, NoticeStatus

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on every database; a naive datetime is a bug and is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def json_column(**kwargs: Any) -> Any:
    return Field(sa_type=sa.JSON, **kwargs)


class CaseRow(SQLModel, table=True):
    """A filing case, pinned to the program key AND version it was opened under."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_program_state", "program_key", "state"),
        sa.Index("ix_cases_applicant_code", "applicant_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_key: str = Field(max_length=80)
    program_version: int
    state: str = Field(max_length=60)
    final: bool = False
    version: int
    applicant_name: str = Field(max_length=200)
    applicant_code: str = Field(max_length=18)
    applicant_email: str | None = Field(default=None, max_length=254)
    applicant_phone: str | None = Field(default=None, max_length=20)
    data: dict[str, Any] = json_column(default_factory=dict)
    amount_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    live_key: str | None = Field(default=None, max_length=120, unique=True)
    chain_head: str = Field(max_length=64)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    submitted_at: datetime | None = utc_column(default=None)


class AuditEventRow(SQLModel, table=True):
    """One change to a case, append-only, chained per case by a keyed hash."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: datetime = utc_column()
    kind: str = Field(max_length=30)
    actor: str = Field(max_length=200)
    role: str = Field(max_length=20)
    via: str = Field(max_length=100)
    event: str | None = Field(default=None, max_length=60)
    from_state: str | None = Field(default=None, max_length=60)
    to_state: str | None = Field(default=None, max_length=60)
    reason: str | None = None
    old_values: dict[str, Any] = json_column(default_factory=dict)
    new_values: dict[str, Any] = json_column(default_factory=dict)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class DeadlineRow(SQLModel, table=True):
    """A deadline: its rule, when its clock started, its ledger, and the derived due time."""

    __tablename__ = "deadlines"
    __table_args__ = (
        sa.Index(
            "ix_deadlines_pending_due",
            "due_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index(
            "ix_deadlines_pending_reminder",
            "next_reminder_at",
            sqlite_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
        ),
        sa.Index("ix_deadlines_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    key: str = Field(max_length=60)
    rule: str = Field(max_length=30)
    label: str = Field(max_length=200)
    state: str = Field(max_length=60)
    on_expiry: str = Field(max_length=60)
    working_days: int | None = None
    fixed_due: datetime | None = utc_column(default=None)
    started_at: datetime = utc_column()
    ledger: list[dict[str, Any]] = json_column(default_factory=list)
    due_at: datetime | None = utc_column(default=None)
    estimated: bool = False
    status: str = Field(default=DeadlineStatus.PENDING.value, max_length=20)
    closed_at: datetime | None = utc_column(default=None)
    next_rung: int = 0
    next_reminder_at: datetime | None = utc_column(default=None)


class NoticeRow(SQLModel, table=True):
    """An outbox notice: queued in the command's transaction, delivered later."""

    __tablename__ = "notices"
    __table_args__ = (
        sa.Index(
            "ix_notices_pending_next",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_notices_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    kind: str = Field(max_length=60)
    channel: str = Field(max_length=20)
    recipient: str = Field(max_length=254)
    idempotency_key: str = Field(max_length=200, unique=True)
    context: dict[str, Any] = json_column(default_factory=dict)
    status: str = Field(default=NoticeStatus.PENDING.value, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    last_error: str | None = None
    provider_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(default=None)


class IdempotencyRow(SQLModel, table=True):
    """The first result of a command sent with an idempotency key, scoped per caller."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index("ix_idempotency_keys_created", "created_at"),)  # the worker's purge

    scope: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    case_id: int | None = None
    result: dict[str, Any] = json_column(default_factory=dict)
    created_at: datetime = utc_column()


class CalendarOverrideRow(SQLModel, table=True):
    """A staff correction of the working-day calendar (a typhoon closure, a fixed date)."""

    __tablename__ = "calendar_overrides"

    day: str = Field(primary_key=True, max_length=10)
    working: bool
    reason: str
    actor: str = Field(max_length=200)
    created_at: datetime = utc_column()


class CalendarYearRow(SQLModel, table=True):
    """A year's official working-day arrangement loaded by staff (``filingflow calendar load``)."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    arrangement: dict[str, Any] = json_column(default_factory=dict)
    actor: str = Field(max_length=200)
    loaded_at: datetime = utc_column()


class WorkerHeartbeatRow(SQLModel, table=True):
    """The last tick of each scheduler worker, for health checks."""

    __tablename__ = "worker_heartbeats"

    name: str = Field(primary_key=True, max_length=200)
    beat_at: datetime = utc_column()
    info: dict[str, Any] = json_column(default_factory=dict)


class WebhookSubscriptionRow(SQLModel, table=True):
    """A backend that wants to hear of changes: URL, signing secret, and an event filter."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    events: list[str] = json_column(default_factory=list)  # empty = every change
    active: bool = True
    created_by: str = Field(max_length=200)
    created_at: datetime = utc_column()


class NoticeResendRow(SQLModel, table=True):
    """A request to send a notice again; counted to rate-limit re-sends per case."""

    __tablename__ = "notice_resends"
    __table_args__ = (sa.Index("ix_notice_resends_case_at", "case_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    notice_id: int
    actor: str = Field(max_length=200)
    at: datetime = utc_column()


cases = CaseRow.__table__  # type: ignore[attr-defined]
audit_events = AuditEventRow.__table__  # type: ignore[attr-defined]
deadlines = DeadlineRow.__table__  # type: ignore[attr-defined]
notices = NoticeRow.__table__  # type: ignore[attr-defined]
idempotency_keys = IdempotencyRow.__table__  # type: ignore[attr-defined]
calendar_overrides = CalendarOverrideRow.__table__  # type: ignore[attr-defined]
calendar_years = CalendarYearRow.__table__  # type: ignore[attr-defined]
worker_heartbeats = WorkerHeartbeatRow.__table__  # type: ignore[attr-defined]
webhook_subscriptions = WebhookSubscriptionRow.__table__  # type: ignore[attr-defined]
notice_resends = NoticeResendRow.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata


# ---- official lists (LG-LIST-1, SZ-LIST-1; workflow.listings) ---------------------------------


class ListingRow(SQLModel, table=True):
    """An entry of an official list; never deleted: removal is recorded (who, when, why) on the row."""

    __tablename__ = "listings"
    __table_args__ = (
        sa.Index("ix_listings_applicant", "applicant_code"),
        sa.Index("ix_listings_flag_on_start", "flag_on_start", "since"),  # the worker's sweep (migration 0007)
    )

    id: int | None = Field(default=None, primary_key=True)
    list_key: str = Field(max_length=60)
    applicant_code: str = Field(max_length=18)
    since: date
    until: date | None = None
    source: str = Field(max_length=200)
    note: str = Field(default="", max_length=2000)
    added_by: str = Field(max_length=200)
    added_reason: str = Field(max_length=2000)
    added_at: datetime = utc_column()
    batch: str | None = Field(default=None, max_length=64)
    removed_by: str | None = Field(default=None, max_length=200)
    removed_reason: str | None = Field(default=None, max_length=2000)
    removed_at: datetime | None = utc_column(default=None)
    flag_on_start: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """Dated to start after it was added: its open cases are still to be flagged on that day."""


listings = ListingRow.__table__  # type: ignore[attr-defined]
