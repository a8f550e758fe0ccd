"""Clawback (追回) after a grant, the same in both programs (LG-CLAW-1, SZ-CLAW-1), as data.

Both guides keep the right to recover funds obtained with false or illegal materials. Staff
open a clawback on a granted case (funded, voucher issued) with a reason, a reason code and an
amount in fen, never more than was granted; the applicant is told; the case then ends
``recovered`` or ``written_off`` (uncollectable), each a staff event with a reason, every step
audited. A clawback for false materials puts the applicant on the program's integrity list in
the same transaction (:class:`~workflow.official_lists.ListingEffect`), which the list guards
then see (LG-LIST-1, SZ-LIST-1).

The granted states stop being final (a clawback can follow them); the clawback states keep
counting against the yearly cap (what was granted stays granted for the cap, recovered or not).
"""

from __future__ import annotations

import dataclasses

from workflow.definition import STAFF_ROLES, Event, Guard, GuardContext, NoticeRule, PayloadField, Refusal, State
from workflow.money import format_yuan
from workflow.official_lists import ListingEffect

STATES = ("clawback", "recovered", "written_off")
REASON_CODES = {
    "false_materials": "提供虚假材料（弄虚作假）",
    "fraudulent_claim": "套取、骗取专项资金",
    "rule_breach": "违反规定获取资金",
    "other": "其他",
}
"""Why funds are recovered; ``false_materials`` also lists the applicant (the integrity list)."""
LISTING_CODES = ("false_materials",)
MAX_FEN = 10**13


def amount_guard(rule: str) -> Guard:
    """Never recover more than was granted; the reason code is one of :data:`REASON_CODES`."""

    def check(ctx: GuardContext) -> Refusal | None:
        code = ctx.payload.get("reason_code")
        if code is not None and code not in REASON_CODES:
            return Refusal(
                rule,
                f"reason_code must be one of {', '.join(REASON_CODES)}, got {code!r}",
                "payload.reason_code",
                reason_zh="追回原因代码无效",
            )
        asked = ctx.payload.get("clawback_fen")
        granted = ctx.amount_fen or 0
        if isinstance(asked, int) and asked > granted:
            return Refusal(
                rule,
                f"a clawback of {format_yuan(asked)} CNY is more than the {format_yuan(granted)} CNY granted",
                "payload.clawback_fen",
                params={"clawback_fen": asked, "granted_fen": granted},
                reason_zh=f"追回金额 {format_yuan(asked)} 元超过已资助金额 {format_yuan(granted)} 元",
            )
        return None

    return Guard(rule, check, "clawback at most what was granted", field="payload.clawback_fen")


NOTICE_LABELS = {
    "clawback_opened": "资金追回通知",
    "clawback_recovered": "资金已追回通知",
    "clawback_written_off": "资金追回核销通知",
}
"""zh-CN labels of the notices the states below send; a program using them adds these to its ``notice_labels``."""


def states(rule: str) -> tuple[State, ...]:
    return (
        State("clawback", "追回中", "clawback open", notices=(NoticeRule("clawback_opened", ("sms", "email"), rule),)),
        State(
            "recovered",
            "已追回",
            "recovered",
            final=True,
            notices=(NoticeRule("clawback_recovered", ("sms", "email"), rule),),
        ),
        State(
            "written_off",
            "追回无果，已核销",
            "written off",
            final=True,
            notices=(NoticeRule("clawback_written_off", ("sms", "email"), rule),),
        ),
    )


def events(rule: str, *, sources: tuple[str, ...], integrity_list: str) -> tuple[Event, ...]:
    staff = frozenset(STAFF_ROLES)
    return (
        Event(
            "open_clawback",
            "启动资金追回",
            sources,
            "clawback",
            staff,
            guards=(amount_guard(rule),),
            requires=("reason", "reason_code", "clawback_fen"),
            payload=(
                PayloadField(
                    "reason_code",
                    "text",
                    required=True,
                    max_length=40,
                    description="why: " + ", ".join(REASON_CODES) + " (false_materials also lists the applicant)",
                ),
                PayloadField(
                    "clawback_fen",
                    "integer",
                    required=True,
                    minimum=1,
                    maximum=MAX_FEN,
                    description="the amount to recover, in fen: at most what was granted",
                ),
            ),
            adds_listing=ListingEffect(integrity_list, rule, "reason_code", LISTING_CODES),
        ),
        Event("recover", "资金已追回", ("clawback",), "recovered", staff, requires=("reason",)),
        Event("write_off", "追回无果，核销", ("clawback",), "written_off", staff, requires=("reason",)),
    )


def after_grant(all_states: tuple[State, ...], granted: tuple[str, ...]) -> tuple[State, ...]:
    """The program's states with the granted ones no longer final: a clawback may follow them."""
    return tuple(dataclasses.replace(s, final=False) if s.key in granted else s for s in all_states)
