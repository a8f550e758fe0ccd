"""The closed vocabularies of the engine: deadline and outbox statuses, roles, channels.

``StrEnum`` so a member is its string: rows, JSON, templates and the programs' packages keep
reading and writing plain strings, while the engine names each value once (a typo in a status
was a silent no-match before).
"""

from __future__ import annotations

from enum import StrEnum


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    SUSPENDED = "suspended"
    MET = "met"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    """The sweep could not fire its expiry event; staff were told."""


OPEN_STATUSES = (DeadlineStatus.PENDING.value, DeadlineStatus.SUSPENDED.value)
"""A deadline in one of these is still running (or paused) and can change."""


class NoticeStatus(StrEnum):
    """An outbox row's life: queued, delivered, or given up after its retries."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Role(StrEnum):
    APPLICANT = "applicant"
    PLATFORM = "platform"
    STAFF = "staff"
    ADMIN = "admin"
    SYSTEM = "system"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"
