"""The vocabulary of a write: a :class:`Change` to a case and the :class:`WriteResult` of storing it.

A command describes its change here; :func:`workflow.plan.plan_change` decides the rows it
means (pure) and :class:`workflow.store.Store` writes them in the command's transaction.
The app reads the kinds and engine events (webhook filters, the console) and
:func:`hold_writers` from here, never the store itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from workflow.audit import canonical
from workflow.definition import Actor, NoticeRule, ProcessDefinition
from workflow.statuses import OPEN_STATUSES

if TYPE_CHECKING:
    from workflow.plan import OpenDeadline

CHANGE_KINDS = ("open", "transition", "system", "override", "deadline", "migration", "amount", "notice", "listing")
"""Every kind of change the audit trail records (webhook filters and the console name them too)."""
ENGINE_EVENTS = (
    "deadline.extend",
    "deadline.suspend",
    "deadline.resume",
    "deadline.recompute",
    "deadline.failed",
    "amount.rebalanced",
    "notice.resent",
    "listing.flagged",  # the applicant was put on an official list (workflow.listings)
)
"""The events the engine records itself, beside the programs' own event names."""
ENGINE_KINDS = frozenset({"deadline", "amount", "notice", "listing"})
"""Kinds of change whose event is one of :data:`ENGINE_EVENTS`."""
NOTICE_COLUMNS = (
    "case_id",
    "kind",
    "channel",
    "recipient",
    "idempotency_key",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
"""The columns of a queued outbox row, every one given (the store inserts them as they are)."""

__all__ = ["CHANGE_KINDS", "ENGINE_EVENTS", "NOTICE_COLUMNS", "OPEN_STATUSES", "Change", "WriteResult"]


@dataclass(slots=True)
class Change:
    """One change to a case, as the audit trail will record it."""

    kind: str
    actor: Actor
    event: str | None
    from_state: str | None
    to_state: str
    reason: str | None = None
    old_values: dict[str, Any] = field(default_factory=dict)
    new_values: dict[str, Any] = field(default_factory=dict)
    extra_notices: tuple[NoticeRule, ...] = ()
    notice_context: dict[str, Any] = field(default_factory=dict)
    instants: Mapping[str, datetime] = field(default_factory=dict)
    """The event's ``instant`` payload fields, parsed: a deadline rule's ``starts_from`` names one."""

    def __post_init__(self) -> None:  # a new kind or engine event must be named above, where filters find it
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"unknown change kind {self.kind!r}")
        if self.kind in ENGINE_KINDS and self.event not in ENGINE_EVENTS:
            raise ValueError(f"unknown engine event {self.event!r}")


@dataclass(frozen=True, slots=True)
class WriteResult:
    version: int
    deadlines_closed: tuple[str, ...]
    deadlines_opened: tuple[str, ...]
    notices: tuple[str, ...]
    case_row: Mapping[str, Any] = field(default_factory=dict)
    """The case row as written, so the caller need not read it back."""
    open_deadlines: tuple[OpenDeadline, ...] = ()
    """The case's open deadlines after the change (a snapshot sorts them)."""


def json_native(value: Any) -> Any:
    """Round-trip through the canonical JSON so what we hash is what the database returns."""
    return json.loads(canonical(value))


def live_key(definition: ProcessDefinition, applicant_code: str) -> str | None:
    """The value a live case holds in the unique ``live_key`` column (``None``: the program allows several)."""
    if definition.unique_live_case_rule is None:
        return None
    return f"{definition.key}:{applicant_code}"


def hold_writers(connection: sa.Connection) -> None:
    """Call first in a transaction that creates or deactivates a webhook subscription.

    On PostgreSQL it takes ``SHARE`` on ``cases``: it waits for every command that has
    already updated its case to finish, and holds new case updates until this commits, so
    each change commits either before the subscription exists or after it with its webhook
    row (see ``workflow.store``). SQLite's ``BEGIN IMMEDIATE`` already does that.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE cases IN SHARE MODE")
