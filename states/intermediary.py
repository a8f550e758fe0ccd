"""Applicants file themselves (LG-AGENT-1, SZ-AGENT-1): no intermediary files for them.

Two parts, both data: the platform passes who submitted (``submitter_code``, the credit code of
the account that submitted, on the submission events) and a submission from an account that is
not the applicant's is refused naming the rule; and staff who find out later refuse the case at
the formal/online review stage with an event of its own (``reject_intermediary``, reason code
``intermediary``), which the round overview counts (the definition's
``reference["staff_refusals"]``).
"""

from __future__ import annotations

from typing import Any

from workflow.definition import STAFF_ROLES, Event, Guard, GuardContext, PayloadField, Refusal

REASON_CODE = "intermediary"
EVENT = "reject_intermediary"

SUBMITTER = PayloadField(
    "submitter_code",
    "text",
    max_length=18,
    description="the unified social credit code of the account that submitted (absent: not told)",
)


def own_account_guard(rule: str) -> Guard:
    """The account that submitted is the applicant's own (its credit code is the applicant's)."""

    def check(ctx: GuardContext) -> Refusal | None:
        submitter = ctx.payload.get("submitter_code")
        if submitter is None or str(submitter).strip().upper() == ctx.applicant_code:
            return None
        return Refusal(
            rule,
            f"submitted by account {submitter}, not the applicant's own ({ctx.applicant_code}): "
            "applicants file themselves, no intermediary or third party may file for them",
            "payload.submitter_code",
            code=REASON_CODE,
            params={"submitter_code": submitter, "applicant_code": ctx.applicant_code},
            reason_zh="须由申请单位自主申报，不接受中介或第三方代为申报",
        )

    return Guard(rule, check, "filed by the applicant itself", field="payload.submitter_code")


def reject_event(rule: str, sources: tuple[str, ...]) -> Event:
    return Event(
        EVENT,
        "通过中介申报，不予通过",
        sources,
        "rejected",
        frozenset(STAFF_ROLES),
        requires=("reason",),
    )


def refusal_reference(rule: str) -> dict[str, Any]:
    """What the round overview counts: staff refusals by event, with rule ID and reason code."""
    return {EVENT: {"rule": rule, "reason_code": REASON_CODE, "label": "通过中介申报"}}
