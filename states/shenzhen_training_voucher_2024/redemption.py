"""The voucher's life after issue: redemption (兑现) with proof of the service, or expiry (SZ-REDEEM-1/2).

The voucher is after-the-fact support (事后资助): issuing it grants an amount, and the money is
drawn only when the applicant proves the compute service was performed (training data sets,
algorithms, application scenarios) and has consented to a compute audit (训力审计同意书). It
may be drawn in parts, never above the voucher; what is left stays redeemable until the
performance period ends (2026-12-31 24:00 Asia/Shanghai), when the rest lapses.

The running ledger lives in the case data under ``redemption`` (written only by the events
below, through ``Event.updates_data``): ``redeemed_fen``, the verified ``parts``, the
``pending`` request, the ``returned`` requests, and ``expired_fen`` once the period ended.
Every guard here is pure and checks what a payload gives (a list of the events one may fire
evaluates them with none); that the amount, the period and every proof are given at all is the
events' payload declaration (:func:`request_payload`, required fields), which the engine checks
first, naming the missing ``payload.<field>``. The amount a request may draw on is the case's
granted amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from workflow.clock import SHANGHAI
from workflow.definition import Guard, GuardContext, JSONDict, PayloadField, Refusal
from workflow.money import format_yuan

from .round import VoucherRound

LEDGER = "redemption"

REDEEMABLE = ("voucher_issued", "partially_redeemed", "redemption_returned")
"""States in which the voucher may be (further) redeemed, and which the period's end expires."""
AFTER_ISSUE = (*REDEEMABLE, "redemption_requested", "redeemed", "voucher_expired")
"""Every state of an issued voucher: all count as granted for the annual cap (SZ-AMT-2)."""


@dataclass(frozen=True, slots=True)
class Proof:
    """One item of the redemption proofs: a payload field naming the document provided."""

    key: str
    label: str
    rule: str = "SZ-REDEEM-1"


PROOFS: tuple[Proof, ...] = (
    Proof("proof_training_datasets", "AI大模型训练数据集（已完成算力服务的证明）"),
    Proof("proof_algorithms", "算法（已完成算力服务的证明）"),
    Proof("proof_application_scenarios", "应用场景（已完成算力服务的证明）"),
    Proof("audit_consent", "训力审计同意书（法人签名并加盖公章）"),
)


def request_payload(round_: VoucherRound) -> tuple[PayloadField, ...]:
    """What a redemption request carries, every field required: the amount, the service period, and
    each proof of :data:`PROOFS` (the checklist is data: a proof added there is asked for here)."""
    return (
        PayloadField(
            "redeem_fen",
            "integer",
            required=True,
            minimum=1,
            maximum=max(round_.cap_sme_fen, round_.cap_other_fen),
            description="the amount to redeem, in fen (at most what the voucher has left, SZ-REDEEM-1)",
        ),
        PayloadField(
            "service_from", "date", required=True, description="first day of the service proved (SZ-REDEEM-2)"
        ),
        PayloadField(
            "service_until", "date", required=True, description="last day of the service proved (SZ-REDEEM-2)"
        ),
        *(
            PayloadField(
                p.key, "text", required=True, max_length=300, description=f"{p.label}: the document ({p.rule})"
            )
            for p in PROOFS
        ),
    )


def verify_payload(round_: VoucherRound) -> tuple[PayloadField, ...]:
    """Staff may verify less than was requested (a proof covers only part of it)."""
    return (
        PayloadField(
            "redeem_fen",
            "integer",
            minimum=1,
            maximum=max(round_.cap_sme_fen, round_.cap_other_fen),
            description="the amount staff verify, in fen, if less than requested (SZ-REDEEM-1)",
        ),
    )


# ---- the ledger ------------------------------------------------------------------------


def ledger(data: Mapping[str, Any]) -> dict[str, Any]:
    """The redemption ledger of a case's data (empty before the first request)."""
    stored = data.get(LEDGER) or {}
    return {
        "redeemed_fen": stored.get("redeemed_fen", 0),
        "parts": list(stored.get("parts", [])),
        "pending": stored.get("pending"),
        "returned": list(stored.get("returned", [])),
        **({"expired_fen": stored["expired_fen"]} if "expired_fen" in stored else {}),
    }


def remaining(ctx: GuardContext) -> int:
    """What the voucher has left to redeem."""
    return (ctx.amount_fen or 0) - int(ledger(ctx.data)["redeemed_fen"])


FIGURE_LABELS = {"granted_fen": "已授予", "redeemed_fen": "已兑现", "expired_fen": "已失效", "remaining_fen": "剩余"}
"""zh-CN headings of :func:`figures` (``ProcessDefinition.figure_labels``)."""


def figures(state: str, data: Mapping[str, Any], amount_fen: int | None) -> dict[str, int]:
    """Granted, redeemed, expired and remaining fen of a case (reports and notices, SZ-AMT-2).

    What lapsed and what is left follow from the state, not from the stored ``expired_fen``, so a
    staff override (into ``voucher_expired``, or back out of it) never leaves the figures behind.
    """
    if state not in AFTER_ISSUE or amount_fen is None:
        return {"granted_fen": 0, "redeemed_fen": 0, "expired_fen": 0, "remaining_fen": 0}
    redeemed = int(ledger(data)["redeemed_fen"])
    rest = amount_fen - redeemed
    return {
        "granted_fen": amount_fen,
        "redeemed_fen": redeemed,
        "expired_fen": rest if state == "voucher_expired" else 0,
        "remaining_fen": rest if state not in ("voucher_expired", "redeemed") else 0,
    }


def _with(ctx: GuardContext, **changes: Any) -> JSONDict:
    return {**ctx.data, LEDGER: {**ledger(ctx.data), **changes}}


def record_request(ctx: GuardContext) -> JSONDict:
    """The request waits for staff with its amount, period and proofs."""
    p = ctx.payload
    pending = {
        "redeem_fen": p["redeem_fen"],
        "service_from": p["service_from"],
        "service_until": p["service_until"],
        "proofs": {proof.key: p[proof.key] for proof in PROOFS},
        "requested_at": ctx.now.isoformat(),
    }
    return _with(ctx, pending=pending)


def _verified_fen(ctx: GuardContext) -> int:
    pending = ledger(ctx.data)["pending"] or {}
    return int(ctx.payload.get("redeem_fen") or pending.get("redeem_fen") or 0)


def record_verified(ctx: GuardContext) -> JSONDict:
    """Staff verified the request: a part is redeemed and the running total grows."""
    book = ledger(ctx.data)
    fen = _verified_fen(ctx)
    part = {**book["pending"], "redeem_fen": fen, "requested_fen": book["pending"]["redeem_fen"]}
    part["verified_at"] = ctx.now.isoformat()
    return _with(ctx, pending=None, parts=[*book["parts"], part], redeemed_fen=book["redeemed_fen"] + fen)


def record_returned(ctx: GuardContext) -> JSONDict:
    """Staff returned the request: nothing redeemed, the request kept with the reason."""
    book = ledger(ctx.data)
    returned = {**book["pending"], "returned_at": ctx.now.isoformat(), "reason": ctx.payload.get("reason")}
    return _with(ctx, pending=None, returned=[*book["returned"], returned])


def record_expired(ctx: GuardContext) -> JSONDict:
    """SZ-REDEEM-2: the period ended; what was not redeemed lapses."""
    return _with(ctx, expired_fen=remaining(ctx))


# ---- guards ----------------------------------------------------------------------------


def request_amount_guard(ctx: GuardContext) -> Refusal | None:
    """SZ-REDEEM-1: never above what the voucher has left (the amount itself is a required payload field)."""
    asked = ctx.payload.get("redeem_fen")
    return None if asked is None else _above_remaining(ctx, asked)


def _above_remaining(ctx: GuardContext, fen: int) -> Refusal | None:
    left = remaining(ctx)
    if fen <= left:
        return None
    return Refusal(
        "SZ-REDEEM-1",
        f"redemption of {format_yuan(fen)} CNY exceeds what the voucher has left ({format_yuan(left)} CNY "
        f"of {format_yuan(ctx.amount_fen or 0)} CNY)",
        "payload.redeem_fen",
        reason_zh=f"兑现金额 {format_yuan(fen)} 元超过训力券剩余额度 {format_yuan(left)} 元",
    )


def period_guard(round_: VoucherRound) -> Guard:
    """SZ-REDEEM-2: the service proved was performed within the period, and is over."""

    def check(ctx: GuardContext) -> Refusal | None:
        p = ctx.payload
        if p.get("service_from") is None or p.get("service_until") is None:
            return None  # not given yet (a list of what may be fired): the payload's declaration asks for them
        start, end = date.fromisoformat(p["service_from"]), date.fromisoformat(p["service_until"])
        today = ctx.now.astimezone(SHANGHAI).date()
        period = f"{round_.contracts_from.isoformat()}..{round_.contracts_until.isoformat()}"
        if start < round_.contracts_from:
            return Refusal("SZ-REDEEM-2", f"service before {period} is not redeemed", "payload.service_from")
        if end > round_.contracts_until:
            return Refusal("SZ-REDEEM-2", f"service after {period} is not redeemed", "payload.service_until")
        if end < start:
            return Refusal("SZ-REDEEM-2", "service_until is before service_from", "payload.service_until")
        if end > today:
            return Refusal(
                "SZ-REDEEM-2",
                f"the service must be completed to be redeemed: service_until {end} is after today ({today})",
                "payload.service_until",
                reason_zh="兑现须为已完成的算力服务",
            )
        return None

    return Guard(
        "SZ-REDEEM-2",
        check,
        "service performed within the period",
        field="payload.service_until",
        reason_zh=f"兑现的算力服务须在 {round_.contracts_from}至{round_.contracts_until} 期间履行完毕",
    )


def _pending_refusal(ctx: GuardContext) -> Refusal | None:
    if ledger(ctx.data)["pending"] is None:
        return Refusal("SZ-REDEEM-1", "no redemption request is pending", "data.redemption.pending")
    return None


def verify_part_guard(ctx: GuardContext) -> Refusal | None:
    """SZ-REDEEM-1: a part verified, at most as requested; the voucher keeps a remainder."""
    refusal = _pending_refusal(ctx)
    if refusal is not None:
        return refusal
    fen, asked = _verified_fen(ctx), ledger(ctx.data)["pending"]["redeem_fen"]
    if fen > asked:
        return Refusal(
            "SZ-REDEEM-1",
            f"staff may verify at most the {format_yuan(asked)} CNY requested, not {format_yuan(fen)} CNY",
            "payload.redeem_fen",
        )
    refusal = _above_remaining(ctx, fen)
    if refusal is not None:
        return refusal
    if fen == remaining(ctx):
        return Refusal(
            "SZ-REDEEM-1",
            "this redeems all the voucher has left: verify it with verify_redemption_in_full",
            "payload.redeem_fen",
            reason_zh="本次兑现后训力券余额为零，请使用“核实兑现（全部余额）”",
        )
    return None


def verify_full_guard(ctx: GuardContext) -> Refusal | None:
    """SZ-REDEEM-1: the request redeems exactly what the voucher has left."""
    refusal = _pending_refusal(ctx)
    if refusal is not None:
        return refusal
    fen, left = _verified_fen(ctx), remaining(ctx)
    if fen != left:
        return Refusal(
            "SZ-REDEEM-1",
            f"the request is for {format_yuan(fen)} CNY and the voucher has {format_yuan(left)} CNY left: "
            "verify a part with verify_redemption",
            "data.redemption.pending",
            reason_zh="申请金额不等于训力券余额，请使用“核实兑现（部分）”",
        )
    return None


def request_guards(round_: VoucherRound) -> tuple[Guard, ...]:
    return (
        Guard("SZ-REDEEM-1", request_amount_guard, "never above what the voucher has left", "payload.redeem_fen"),
        period_guard(round_),
    )


VERIFY_PART_GUARDS = (Guard("SZ-REDEEM-1", verify_part_guard, "a part, the voucher keeps a remainder"),)
VERIFY_FULL_GUARDS = (Guard("SZ-REDEEM-1", verify_full_guard, "all the voucher has left"),)
RETURN_GUARDS = (Guard("SZ-REDEEM-1", _pending_refusal, "a request is pending"),)
