"""Process definitions as plain typed data.

A program round (e.g. the 2025 Longgang AI compute subsidy) is a
:class:`ProcessDefinition`: its states, the events that move a case between them, the
guards that refuse an event with a rule ID, the deadlines a state opens and the notices
it queues. The engine interprets definitions and knows no program; a definition is
checked when it is compiled (:mod:`workflow.validation`), never halfway through a case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Protocol

from workflow.official_lists import ListEntry, ListingEffect, OfficialList
from workflow.statuses import Channel, Role
from workflow.workdays import WorkingDayCalendar

ROLES = frozenset(Role)
STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
APPLICANT_SIDE = frozenset({Role.APPLICANT, Role.PLATFORM})

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who issues a command: a name, a role, the calling system (``via``) and the request it came in.

    ``request_id`` (an HTTP request's ``X-Request-ID``) is recorded in the audit event's
    ``new_values`` so a log line and the change it made can be matched; it is not part of equality.
    """

    name: str
    role: str
    via: str = "python"
    request_id: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Actor({self.name!r}, role={self.role!r}, via={self.via!r})"


SYSTEM = Actor("filingflow", Role.SYSTEM.value, "scheduler")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a guard said no: the rule ID, a readable reason, and the field if one is at fault.

    ``reason`` is English (logs, CLI, the API's ``detail``). So that each surface can say it in
    its own language, a refusal also carries its structure: the engine's own refusals a
    ``code`` with ``params`` (e.g. ``role_not_allowed`` with the role, event and allowed roles),
    which a surface renders from its catalogue; a program's guard its zh-CN wording in
    ``reason_zh``, since only the program knows what its rule says.
    """

    rule: str
    reason: str
    field: str | None = None
    code: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)  # `field` is taken
    reason_zh: str | None = None

    def __str__(self) -> str:
        return f"{self.reason} ({self.rule})"

    def structure(self) -> dict[str, Any]:
        """The keyword arguments that carry this refusal's structure onto a raised error."""
        return {"code": self.code, "params": dict(self.params), "message_zh": self.reason_zh}


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at. Guards are pure: they read this and nothing else."""

    case_id: int | None
    applicant_code: str
    state: str
    data: Mapping[str, Any]
    payload: Mapping[str, Any]
    actor: Actor
    now: datetime
    calendar: WorkingDayCalendar
    submitted_at: datetime | None
    reference: Mapping[str, Any]
    # -- official lists (LG-LIST-1, SZ-LIST-1) and the granted amount (LG-CLAW-1, SZ-CLAW-1) --
    listings: tuple[ListEntry, ...] = ()
    """The applicant's list entries valid at ``now``: loaded only for events with a guard that
    ``needs_lists`` (other commands pay nothing), else empty."""
    amount_fen: int | None = None
    """The case's amount as stored (e.g. a voucher granted): what a later event may draw on."""


GuardCheck = Callable[[GuardContext], "str | Refusal | None"]
DataUpdate = Callable[[GuardContext], "JSONDict"]


@dataclass(frozen=True, slots=True)
class Guard:
    """A named program rule that may refuse an event (``None`` means allowed).

    ``reason_zh`` is the guard's zh-CN refusal, used when its check answers with a plain (English)
    string or a :class:`Refusal` without one; a check that needs a zh-CN text with figures returns
    a :class:`Refusal` with its own ``reason_zh``.
    """

    rule: str
    check: GuardCheck
    description: str = ""
    field: str | None = None
    reason_zh: str | None = None
    needs_lists: bool = False
    """The check reads :attr:`GuardContext.listings` (the engine loads them only then)."""

    def evaluate(self, context: GuardContext) -> Refusal | None:
        outcome = self.check(context)
        if outcome is None:
            return None
        if isinstance(outcome, Refusal):
            if outcome.reason_zh is None and self.reason_zh is not None:  # the guard's wording, if none more precise
                return dataclasses.replace(outcome, reason_zh=self.reason_zh)
            return outcome
        return Refusal(self.rule, outcome, self.field, reason_zh=self.reason_zh)


@dataclass(frozen=True, slots=True)
class NoticeRule:
    """A notice queued in the outbox when a state is entered (or a deadline changes).

    ``audience`` is ``applicant`` (contacts from the case) or ``staff`` (the configured
    staff mailbox, resolved when the notice is delivered).
    """

    kind: str
    channels: tuple[str, ...] = (Channel.SMS.value, Channel.EMAIL.value)
    rule: str | None = None
    audience: str = Role.APPLICANT.value


@dataclass(frozen=True, slots=True)
class ReminderRung:
    """One rung of a deadline's reminder ladder, sent once per due date.

    Its moment is ``at`` (Asia/Shanghai) on the day N calendar days, or N working days,
    before the deadline's last day (0 = the morning of the last day). A rung is only
    sent until the next rung's moment (or the due time): a "1 day left" found late by a
    worker that was down is dropped, not sent after the fact.
    """

    key: str
    notice: NoticeRule
    calendar_days_before: int | None = None
    working_days_before: int | None = None
    at: time = time(9, 0)


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A deadline a state opens: N working days from its start, or a fixed instant.

    ``working_days`` count from the day after the clock starts and end at the end of the
    last working day in Asia/Shanghai. When it passes, ``on_expiry`` is fired by the
    system. The deadline is met when the case leaves the state by one of ``met_by``;
    leaving any other way cancels it.
    """

    key: str
    rule: str
    label: str
    on_expiry: str
    working_days: int | None = None
    due: datetime | None = None
    met_by: tuple[str, ...] = ()
    reminders: tuple[ReminderRung, ...] = ()
    expiry_alert: NoticeRule | None = None
    starts_from: str | None = None
    """The name of an ``instant`` payload field of the event that opens this deadline: its
    clock starts then (e.g. when a portal notified the applicant) instead of when the event
    was recorded. The field must be declared on every event entering the opening state
    (checked by :mod:`workflow.validation`); absent from a payload, the clock starts now."""


@dataclass(frozen=True, slots=True)
class State:
    """A state of a program: key, zh-CN label, and what entering it sets in motion."""

    key: str
    label: str
    label_en: str = ""
    final: bool = False
    opens: tuple[str, ...] = ()
    notices: tuple[NoticeRule, ...] = ()


PAYLOAD_KINDS = frozenset({"text", "integer", "instant", "date"})
ENGINE_PAYLOAD_KEYS = frozenset({"reason", "data"})
"""Payload keys the engine itself knows on every event: ``reason`` (checked as a reason) and
``data`` (a patch of the case data, only on events that accept data)."""


@dataclass(frozen=True, slots=True)
class PayloadField:
    """One payload field an event takes, with its type and limits; anything undeclared is refused.

    ``kind``: ``text`` (``max_length`` characters), ``integer`` (``minimum``..``maximum``, both
    required so no number is unbounded), ``instant`` (ISO 8601 with an offset; with
    ``not_future`` never after the command's clock, with ``not_before_entry`` never before the
    case entered the state the event leaves) or ``date`` (ISO ``YYYY-MM-DD``).
    """

    name: str
    kind: str
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    not_future: bool = False
    not_before_entry: bool = False
    description: str = ""
    label_zh: str = ""
    """What a form calls the field (the staff console); the name when empty."""
    choices: str | tuple[tuple[str, str], ...] | None = None
    """A fixed set of values a form offers: a key of the definition's ``reference`` whose items
    have a ``number`` and a ``name`` (e.g. a round's service windows), or ``(value, label)`` pairs."""


@dataclass(frozen=True, slots=True)
class Event:
    """A move from any of ``sources`` to ``target``, allowed for ``roles`` if guards pass."""

    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    guards: tuple[Guard, ...] = ()
    requires: tuple[str, ...] = ()
    accepts_data: bool = False
    marks_submission: bool = False
    in_submission_order: str | None = None
    """Rule ID (e.g. ``SZ-FLOW-3``) when cases must take this event in submission order."""
    payload: tuple[PayloadField, ...] = ()
    """The payload fields the event takes besides ``reason`` and ``data`` (see :class:`PayloadField`)."""
    updates_data: DataUpdate | None = None
    """A pure program function of the event's context (its guards passed) returning the case's new
    data: how an event keeps a running figure, e.g. what a voucher has redeemed so far. The engine
    audits the change like a data patch; the function must not raise for a context its guards allow."""
    adds_listing: ListingEffect | None = None
    """Puts the applicant on an official list in the event's transaction (LG-CLAW-1, SZ-CLAW-1)."""


@dataclass(frozen=True, slots=True)
class Amount:
    """A computed amount in integer fen, with the steps that produced it (rule IDs).

    ``steps`` are English; ``steps_zh`` the same steps in zh-CN for reviewers (the program
    writes both, since the wording of its rule is its own). Empty ``steps_zh`` means untranslated.
    """

    fen: int
    steps: tuple[str, ...] = ()
    steps_zh: tuple[str, ...] = ()

    @property
    def yuan(self) -> str:
        sign = "-" if self.fen < 0 else ""
        whole, cents = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{cents:02d}"


Figures = Callable[[str, Mapping[str, Any], "int | None"], dict[str, int]]
"""``figures(state, data, amount_fen)``: see :attr:`ProcessDefinition.figures`."""
DataPreparer = Callable[[Mapping[str, Any]], JSONDict]
AmountRule = Callable[[Mapping[str, Any], int], Amount | None]
"""``amount(data, already_fen)``: ``already_fen`` is what the applicant's earlier cases in the
same cap group already claim (0 for programs without a ``cap_group``)."""


class Checklist(Protocol):
    """``checklist(data, applicant_code)``: the materials for a case's data and applicant (the
    credit code says what kind of body it is, which some items depend on); ``None`` when unknown."""

    def __call__(self, data: Mapping[str, Any], applicant_code: str | None = None, /) -> list[JSONDict]: ...


NoticeContext = Callable[[Mapping[str, Any], Mapping[str, Any]], JSONDict]
"""``notice_context(stored, reference)``: the program's own template values for one notice, from the
outbox row's stored context and the definition's ``reference`` (e.g. its service windows)."""


def _no_notice_context(stored: Mapping[str, Any], reference: Mapping[str, Any]) -> JSONDict:
    return {}


def _identity(data: Mapping[str, Any]) -> JSONDict:
    return dict(data)


def _no_amount(data: Mapping[str, Any], already_fen: int) -> Amount | None:
    return None


def _no_checklist(data: Mapping[str, Any], applicant_code: str | None = None, /) -> list[JSONDict]:
    return []


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """One program round's process, as data.

    ``prepare_data`` validates and normalises a case's program data (raising
    :class:`~workflow.errors.InvalidInput` naming the field) into JSON-native values;
    ``amount`` computes the subsidy exactly; ``checklist`` lists the materials with
    ``key, label, rule, required, status, missing`` for a case's data; ``unique_live_case_rule`` names the rule that
    forbids an applicant two live cases in this round (e.g. ``LG-ELIG-2``); ``cap_group``
    names a cap several cases of one applicant share (``cap_rule`` its rule ID, ``granted_states``
    the states whose amount is spent; see :mod:`workflow.caps`); ``open_guards`` and
    ``refiling_blocked_by`` decide whether a new case may be opened at all; ``reference``
    holds the round's reference data (service windows, dates) for guards and notices.
    """

    key: str
    version: int
    title: str
    initial: str
    states: tuple[State, ...]
    events: tuple[Event, ...]
    deadlines: tuple[DeadlineRule, ...] = ()
    title_en: str = ""
    prepare_data: DataPreparer = _identity
    amount: AmountRule = _no_amount
    checklist: Checklist = _no_checklist
    unique_live_case_rule: str | None = None
    cap_group: str | None = None
    cap_rule: str | None = None
    granted_states: tuple[str, ...] = ()
    reference: Mapping[str, Any] = field(default_factory=dict)
    override_notice: NoticeRule | None = None
    open_guards: tuple[Guard, ...] = ()
    """Rules checked when a case is opened (e.g. a round whose window has closed, LG-WIN-1)."""
    figures: Figures | None = None
    """The money a case stands for beyond its amount, as named integer fen (e.g. ``granted_fen``,
    ``redeemed_fen``, ``expired_fen``) from its state, data and amount: what reports sum per
    applicant and per round without knowing the program's fields."""
    figure_labels: Mapping[str, str] = field(default_factory=dict)
    """zh-CN headings of the names ``figures`` returns (the console's money report); a figure
    without one is headed by its name."""
    official_lists: tuple[OfficialList, ...] = ()
    """The official lists the program checks (LG-LIST-1, SZ-LIST-1): an applicant listed while a
    case is open gets the case flagged for staff (:mod:`workflow.listings`)."""
    refiling_blocked_by: tuple[str, ...] = ()
    """Finished states of an earlier case of the same applicant in this round that refuse a new
    case (by ``unique_live_case_rule``): e.g. a matter already decided may not be filed again."""
    templates: Path | None = None
    """The folder of the program's notice templates (``<kind>.<part>.j2`` and its partials), found
    by program, not by round key: a round made with ``dataclasses.replace()`` keeps its program's.
    ``None``: the program sends only the shared notices (``notifications/templates/_common``)."""
    notice_context: NoticeContext = _no_notice_context
    """The values the program's templates need beyond the generic ones (see :data:`NoticeContext`)."""
    notice_labels: Mapping[str, str] = field(default_factory=dict)
    """zh-CN labels of the program's own notice kinds (the console's outbox list)."""
    examples: Mapping[str, Any] = field(default_factory=dict)
    """OpenAPI examples of opening a case of this program: name -> ``{summary, description, value}``."""
    publicity_states: tuple[str, ...] = ()
    """The states whose cases make up the round's public list (公示名单), which staff export: the
    program knows which of its stages is the publicity; empty when the round publishes none."""
