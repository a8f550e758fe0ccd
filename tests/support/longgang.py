"""Test data for the Longgang program: applicants with valid codes, complete case data, actors."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING, Any

from states.longgang_ai_compute_2025 import LONGGANG_2025
from states.longgang_ai_compute_2025.data import EXAMPLE
from workflow.applicants import uscc_check_digit
from workflow.clock import SHANGHAI
from workflow.definition import Actor

if TYPE_CHECKING:
    from workflow.clock import ManualClock
    from workflow.engine import Engine

PROGRAM = LONGGANG_2025.key
PLATFORM = Actor("platform-backend", "platform", "tests")
APPLICANT = Actor("applicant-1", "applicant", "tests")
STAFF = Actor("reviewer-zhang", "staff", "tests")
ADMIN = Actor("admin-chen", "admin", "tests")


def sh(text: str) -> datetime:
    """An Asia/Shanghai wall-clock time, e.g. ``sh("2025-08-13 00:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def uscc(serial: int, kind: str = "91") -> str:
    """A valid credit code; ``kind``: its registration-authority and category digits (91 enterprise, 12 事业单位...)."""
    first17 = f"{kind}44030{serial:010d}"
    return first17 + uscc_check_digit(first17)


def applicant(serial: int = 1, *, phone: bool = True, kind: str = "91") -> dict[str, Any]:
    return {
        "name": f"深圳市测试科技{serial}号有限公司",
        "code": uscc(serial, kind),
        "email": f"case{serial}@example.cn",
        "phone": f"1390000{serial:04d}" if phone else None,
    }


def complete_data(**changes: Any) -> dict[str, Any]:
    """Data that passes every submission guard; ``changes`` replace top-level fields."""
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return data


def awaiting_paper(engine: Engine, clock: ManualClock, when: str, *, serial: int = 1) -> tuple[int, int]:
    """A case taken to the paper stage: the portal-approval notice (LG-DL-1) arrives at ``when``.

    Returns the case id and its paper deadline's id.
    """
    clock.set(sh("2025-08-20 09:00"))
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    engine.fire(case_id, "pass_online_review", actor=STAFF)
    engine.fire(case_id, "file_on_portal", actor=PLATFORM)
    clock.set(sh(when))
    case = engine.fire(case_id, "approve_on_portal", actor=STAFF)
    return case_id, case.deadlines[0].id


def submitted(engine: Engine, serial: int = 1, **kwargs: bool) -> int:
    """Open and submit a Longgang case (LG-FLOW-1): queues the applicant's email and SMS and the staff email."""
    case_id = engine.open_case(PROGRAM, applicant=applicant(serial, **kwargs), data=complete_data(), actor=PLATFORM).id
    engine.fire(case_id, "submit", actor=PLATFORM)
    return case_id
