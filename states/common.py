"""What every program's definition is built from: role sets, notice rules, materials checklists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.definition import APPLICANT_SIDE, STAFF_ROLES, NoticeRule

SYSTEM_ONLY = frozenset({"system"})
STAFF = frozenset(STAFF_ROLES)
APPLICANT = frozenset(APPLICANT_SIDE)
PORTAL = frozenset(STAFF_ROLES | {"platform"})  # staff, or the platform relaying a portal decision
MATERIAL_STATUSES = ("provided", "not_applicable")


def sms_and_email(kind: str, rule: str) -> tuple[NoticeRule, ...]:
    """The applicant hears of it by SMS and email."""
    return (NoticeRule(kind, ("sms", "email"), rule),)


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


@dataclass(frozen=True, slots=True)
class MaterialStatus:
    item: MaterialItem
    required: bool
    status: str | None

    @property
    def missing(self) -> bool:
        return self.required and self.status != "provided"


def checklist_status(checklist: tuple[MaterialItem, ...], data: Mapping[str, Any]) -> list[MaterialStatus]:
    """Every item with whether it is required for this case and what was declared."""
    declared = data.get("materials") or {}
    return [MaterialStatus(item, item.required_when(data), declared.get(item.key)) for item in checklist]


def checklist_view(checklist: tuple[MaterialItem, ...], data: Mapping[str, Any]) -> list[dict[str, Any]]:
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
        for s in checklist_status(checklist, data)
    ]
