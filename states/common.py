"""What every program's definition is built from: role sets, notice rules, materials checklists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow.applicants import applicant_kind
from workflow.clock import SHANGHAI
from workflow.definition import APPLICANT_SIDE, STAFF_ROLES, Guard, GuardContext, NoticeRule
from workflow.zh_dates import end_time, iso_day, last_day, window_end

SYSTEM_ONLY = frozenset({"system"})
STAFF = frozenset(STAFF_ROLES)
APPLICANT = frozenset(APPLICANT_SIDE)
PORTAL = frozenset(STAFF_ROLES | {"platform"})  # staff, or the platform relaying a portal decision
MATERIAL_STATUSES = ("provided", "not_applicable")


NOT_TAXED = frozenset({"public_institution"})
"""事业单位 are the only applicants who do not provide the tax certificate (非事业单位提供), both guides."""


def sms_and_email(kind: str, rule: str) -> tuple[NoticeRule, ...]:
    """The applicant hears of it by SMS and email."""
    return (NoticeRule(kind, ("sms", "email"), rule),)


def window_close_context(reference: Mapping[str, Any]) -> dict[str, Any]:
    """The round's close for notices: ``window_close_date`` and its exact ``window_close_end`` (SZ-WIN-1).

    Read from ``reference["round"]["window_closes"]``, an instant or an inclusive last day.
    """
    closes = dict(reference.get("round", {})).get("window_closes")
    return {"window_close_date": iso_day(closes), "window_close_end": window_end(closes)}


def deadline_context(stored: Mapping[str, Any], deadline: str, *, date_key: str, end_key: str) -> dict[str, Any]:
    """A deadline the notice's change opened, as its last day (``date_key``) and exact end (``end_key``)."""
    due = dict(stored.get("deadlines") or {}).get(deadline)
    return {date_key: last_day(due), end_key: end_time(due)}


def round_open_guard(rule: str, closes_at: datetime) -> Guard:
    """A case may not be opened once the round's filing window has closed (LG-WIN-1, SZ-WIN-1).

    Before the window opens a draft is fine: the applicant prepares, and the submission guard
    still refuses until the window opens. After it closes a new draft could never be submitted
    and would only be abandoned by the next sweep, with an "overdue" notice to the applicant.
    """

    def check(ctx: GuardContext) -> str | None:
        if ctx.now < closes_at:
            return None
        return f"the filing window closed {closing_time(closes_at)}: no new case can be opened in this round"

    return Guard(
        rule,
        check,
        "round still open for new cases",
        field="program",
        reason_zh=f"本批次申报已于 {closing_time_zh(closes_at)}（北京时间）截止，不能再新建案件",
    )


def closing_time(closes_at: datetime) -> str:
    """``at 2024-12-09 18:00 (Asia/Shanghai)``, or ``at the end of 2025-09-13 ...`` for a midnight close."""
    local = closes_at.astimezone(SHANGHAI)
    if local.hour == local.minute == local.second == 0:
        return f"at the end of {(local - timedelta(days=1)).date().isoformat()} (Asia/Shanghai)"
    return f"at {local.strftime('%Y-%m-%d %H:%M')} (Asia/Shanghai)"


def closing_time_zh(closes_at: datetime) -> str:
    """``2024年12月9日 18:00``, or ``2025年9月13日 24:00`` for a midnight close."""
    local = closes_at.astimezone(SHANGHAI)
    if local.hour == local.minute == local.second == 0:
        day, hour = (local - timedelta(days=1)).date(), "24:00"
    else:
        day, hour = local.date(), local.strftime("%H:%M")
    return f"{day.year}年{day.month}月{day.day}日 {hour}"


def always(data: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class MaterialItem:
    """A checklist item, required always or under a condition on the case data."""

    key: str
    rule: str
    label: str
    required_when: Callable[[Mapping[str, Any]], bool] = always
    condition: str = ""
    exempt_kinds: frozenset[str] = frozenset()
    """Applicant kinds (:func:`workflow.applicants.applicant_kind`, from the credit code) that never
    need this item, e.g. a public institution (事业单位) and the tax certificate. Without a code the
    item is required (a checklist never assumes an exemption it cannot see)."""


@dataclass(frozen=True, slots=True)
class MaterialStatus:
    item: MaterialItem
    required: bool
    status: str | None

    @property
    def missing(self) -> bool:
        return self.required and self.status != "provided"


def checklist_status(
    checklist: tuple[MaterialItem, ...], data: Mapping[str, Any], applicant_code: str | None = None
) -> list[MaterialStatus]:
    """Every item with whether it is required for this case (and applicant) and what was declared."""
    declared = data.get("materials") or {}
    kind = applicant_kind(applicant_code) if applicant_code else None
    return [
        MaterialStatus(item, item.required_when(data) and kind not in item.exempt_kinds, declared.get(item.key))
        for item in checklist
    ]


def checklist_view(
    checklist: tuple[MaterialItem, ...], data: Mapping[str, Any], applicant_code: str | None = None
) -> list[dict[str, Any]]:
    """The checklist as plain data for APIs and pages: what is required and what is missing."""
    return [
        {
            "key": s.item.key,
            "label": s.item.label,
            "rule": s.item.rule,
            "required": s.required,
            "status": s.status,
            "missing": s.missing,
        }
        for s in checklist_status(checklist, data, applicant_code)
    ]
