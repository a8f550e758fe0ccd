"""Official lists as data: which lists a program checks, and one list entry as guards see it.

Both guides exclude applicants on official lists (LG-ELIG-2: 严重失信主体名单; SZ-ELIG-2:
科研诚信异常名录, 超期未申请验收名单, unreturned fiscal funds, serious illegal and dishonest
lists). The lists are kept by others and imported by staff; eligibility is decided against
them (LG-LIST-1, SZ-LIST-1), not by the applicant's own true/false alone. This module is pure
data (no database): a program names its lists in its definition, the engine loads the
entries valid at the command's clock for the guards that ask for them
(:attr:`~workflow.definition.Guard.needs_lists`), and :mod:`workflow.listings` stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class OfficialList:
    """A list a program checks: its key (shared by every program that checks the same list),
    labels, the program's rule ID, and the data field where the applicant declares it (if any)."""

    key: str
    label: str
    label_en: str
    rule: str
    declaration: str | None = None
    """Dotted path in the case data of the applicant's own declaration (``declarations.serious_dishonesty``)."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry: a credit code on a list from ``since`` to ``until`` (inclusive, Asia/Shanghai days)."""

    id: int
    list_key: str
    applicant_code: str
    since: date
    until: date | None
    source: str
    note: str = ""

    def valid_on(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list": self.list_key,
            "applicant_code": self.applicant_code,
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "source": self.source,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ListingEffect:
    """An event that puts the applicant on a list, in the event's transaction (LG-CLAW-1, SZ-CLAW-1).

    It applies when the payload's ``when_field`` has one of ``when_values`` (e.g. a clawback
    whose ``reason_code`` is ``false_materials``); the entry starts the day of the event and runs
    until staff remove it.
    """

    list_key: str
    rule: str
    when_field: str
    when_values: tuple[str, ...]


def declared(data: Any, path: str) -> Any:
    """The value at a dotted path of the case data (``None`` when absent)."""
    value = data
    for part in path.split("."):
        if not hasattr(value, "get"):
            return None
        value = value.get(part)
    return value
