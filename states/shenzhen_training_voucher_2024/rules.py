"""The voucher rules that can refuse an event (SZ-WIN-1, SZ-ELIG-1..5, SZ-AMT-2/3, SZ-MAT-1) and the voucher amount.

Money: "不超过服务合同金额的50%" (60% for a start-up) is a ceiling, so each contract's share is
rounded *down* to the fen (:func:`~workflow.money.percent_ceiling`); the caps are whole yuan
and never need rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from states.listing_rules import listed_guard
from workflow.clock import SHANGHAI
from workflow.definition import Amount, Guard, GuardContext, Refusal
from workflow.money import format_yuan, parse_yuan, percent_ceiling

from .data import DECLARATIONS, ENTITY_TYPES
from .lists import OFFICIAL_LISTS
from .lists import RULE as LIST_RULE
from .materials import checklist_view
from .providers import catalogued
from .round import VoucherRound


def window_guard(round_: VoucherRound) -> Guard:
    """SZ-WIN-1: from 2024-11-19 to 2024-12-09 18:00 (not midnight)."""

    def check(ctx: GuardContext) -> Refusal | None:
        if round_.opens_at <= ctx.now < round_.closes_at:
            return None
        local = ctx.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        closes = round_.closes_at.strftime("%Y-%m-%d %H:%M")
        o, c = round_.opens_at.astimezone(SHANGHAI), round_.closes_at.astimezone(SHANGHAI)
        return Refusal(
            "SZ-WIN-1",
            f"filing is accepted from {round_.opens_at:%Y-%m-%d} to {closes} (Asia/Shanghai); it is now {local}",
            "submitted_at",
            reason_zh=f"申报时间为 {o.year}年{o.month}月{o.day}日至{c.month}月{c.day}日 {c:%H:%M}（北京时间），"
            f"现在是 {local}",
        )

    return Guard("SZ-WIN-1", check, "filing window", field="submitted_at")


def entity_guard(ctx: GuardContext) -> str | Refusal | None:
    """SZ-ELIG-1: enterprise, university or research institute, independent legal person, in Shenzhen."""
    data = ctx.data
    for field in ("entity_type", "independent_legal_person", "operating_in_shenzhen"):
        if field not in data:
            return Refusal("SZ-ELIG-1", f"data.{field} is required for submission", f"data.{field}")
    if not data["independent_legal_person"]:
        return Refusal(
            "SZ-ELIG-1", "the applicant must have independent legal personality", "data.independent_legal_person"
        )
    if not data["operating_in_shenzhen"]:
        return Refusal(
            "SZ-ELIG-1", "the applicant must operate in Shenzhen (Shenshan included)", "data.operating_in_shenzhen"
        )
    return None


def integrity_guard(ctx: GuardContext) -> str | Refusal | None:
    """SZ-ELIG-2: none of the integrity, acceptance, refund or dishonesty lists."""
    declared = ctx.data.get("declarations") or {}
    for name in DECLARATIONS:
        if name not in declared:
            return Refusal("SZ-ELIG-2", f"declaration {name} is required", f"data.declarations.{name}")
        if declared[name]:
            return Refusal("SZ-ELIG-2", f"the applicant is listed or declared: {name}", f"data.declarations.{name}")
    return None


def _contracts(ctx: GuardContext) -> list[dict[str, Any]]:
    return list(ctx.data.get("contracts") or [])


def other_funding_guard(round_: VoucherRound) -> Guard:
    """SZ-ELIG-3: other fiscal compute/model funding over 50% of a contract is not funded."""

    def check(ctx: GuardContext) -> Refusal | None:
        for i, contract in enumerate(_contracts(ctx)):
            amount = parse_yuan(contract.get("amount_cny", "0"), field=f"data.contracts.{i}.amount_cny")
            other = parse_yuan(
                contract.get("other_fiscal_funding_cny", "0"), field=f"data.contracts.{i}.other_fiscal_funding_cny"
            )
            if amount and Decimal(other) * 100 > Decimal(amount) * round_.max_other_funding_percent:
                return Refusal(
                    "SZ-ELIG-3",
                    f"contract {i + 1} already has {format_yuan(other)} CNY of other fiscal funding, over "
                    f"{round_.max_other_funding_percent}% of {format_yuan(amount)} CNY",
                    f"data.contracts.{i}.other_fiscal_funding_cny",
                )
        return None

    return Guard("SZ-ELIG-3", check, "other fiscal funding at most 50%")


def provider_applicant_guard(ctx: GuardContext) -> str | None:
    """SZ-ELIG-4: a catalogued voucher provider cannot also apply for vouchers."""
    entry = catalogued(ctx.applicant_code, ctx.now.astimezone(SHANGHAI).date())
    if entry is None:
        return None
    return f"the applicant is a catalogued voucher provider ({entry.name}) and cannot apply for vouchers"


def filing_date(ctx: GuardContext) -> date:
    """The day the case was (first) filed, Asia/Shanghai: a resubmission keeps its filing's date."""
    return (ctx.submitted_at or ctx.now).astimezone(SHANGHAI).date()


def contract_guard(round_: VoucherRound) -> Guard:
    """SZ-ELIG-5 and SZ-AMT-1 (事后资助): contracts with a catalogued provider, already signed when filed.

    The guide funds after the fact ("事后资助": the applicant submits a signed contract to claim
    its voucher), and the contract is signed and performed 2024-07-31..2026-12-31. So on the
    day it is filed a contract must already be signed (signed_on <= the filing date, in
    Asia/Shanghai; a resubmission keeps the first filing's date) and no earlier than
    2024-07-31; its performance may still be under way and may run until 2026-12-31 (the
    voucher is redeemed against service performed in that period, after issue), but not end
    before it was signed.
    """

    def check(ctx: GuardContext) -> Refusal | None:
        contracts = _contracts(ctx)
        if not contracts:
            return Refusal("SZ-ELIG-5", "at least one service contract is required", "data.contracts")
        filed = filing_date(ctx)
        for i, contract in enumerate(contracts):
            where = f"data.contracts.{i}"
            for field in ("provider_code", "kind", "amount_cny", "signed_on", "service_until"):
                if field not in contract:
                    return Refusal("SZ-ELIG-5", f"contract {i + 1} needs {field}", f"{where}.{field}")
            signed = date.fromisoformat(contract["signed_on"])
            until = date.fromisoformat(contract["service_until"])
            if not round_.contracts_from <= signed <= round_.contracts_until:
                return Refusal(
                    "SZ-ELIG-5",
                    f"contract {i + 1} was signed on {signed}, outside "
                    f"{round_.contracts_from}..{round_.contracts_until}",
                    f"{where}.signed_on",
                )
            if signed > filed:
                return Refusal(
                    "SZ-AMT-1",
                    f"contract {i + 1} is dated {signed}, after the filing on {filed}: the voucher funds "
                    "contracts already signed (事后资助); file it in a later round",
                    f"{where}.signed_on",
                )
            if until < signed:
                return Refusal(
                    "SZ-ELIG-5",
                    f"contract {i + 1} is performed until {until}, before it was signed on {signed}",
                    f"{where}.service_until",
                )
            if until > round_.contracts_until:
                return Refusal(
                    "SZ-ELIG-5",
                    f"contract {i + 1} is performed until {until}, after {round_.contracts_until}",
                    f"{where}.service_until",
                )
            if catalogued(contract["provider_code"], signed) is None:
                return Refusal(
                    "SZ-ELIG-5",
                    f"contract {i + 1}'s provider was not in the voucher catalogue on {signed}",
                    f"{where}.provider_code",
                )
        return None

    return Guard("SZ-ELIG-5", check, "contracts with catalogued providers, signed by the filing date")


def materials_guard(ctx: GuardContext) -> Refusal | None:
    """SZ-MAT-1 and SZ-FLOW-1: every required item, and the signed-and-stamped page, uploaded."""
    missing = [m for m in checklist_view(ctx.data, ctx.applicant_code) if m["missing"]]
    if not missing:
        return None
    first = missing[0]
    return Refusal(
        first["rule"],
        f"material missing: {first['label']}",
        f"data.materials.{first['key']}",
        reason_zh=f"缺少材料：{first['label']}",
    )


def eligibility_guards(round_: VoucherRound) -> tuple[Guard, ...]:
    return (
        Guard(
            "SZ-ELIG-1",
            entity_guard,
            "eligible applicant",
            reason_zh="申报单位须为在深圳（含深汕）注册经营、具有独立法人资格的企业、高校或科研机构，并填写相关信息",
        ),
        listed_guard(LIST_RULE, OFFICIAL_LISTS),  # the lists decide (SZ-LIST-1), before the declarations
        Guard(
            "SZ-ELIG-2",
            integrity_guard,
            "not on the lists",
            reason_zh="申报单位须作出各项诚信声明，且未被列入诚信、验收、退款或失信等名单",
        ),
        other_funding_guard(round_),
        Guard(
            "SZ-ELIG-4",
            provider_applicant_guard,
            "not a catalogued provider",
            field="applicant.code",
            reason_zh="训力券服务商目录内的服务商不能申领训力券",
        ),
        contract_guard(round_),
        amount_facts_guard(round_),
        Guard("SZ-MAT-1", materials_guard, "materials complete"),
    )


def missing_amount_fact(round_: VoucherRound, data: Mapping[str, Any]) -> Refusal | None:
    """SZ-AMT-2/3: the first fact that would change the amount and is not stated, or ``None``.

    For an enterprise, whether it is an SME decides its annual cap (SZ-AMT-2) and its
    registration date decides whether it can be a start-up (SZ-AMT-3); for a start-up by
    date, its annual spend decides 60% or 50%. Universities and research institutes need
    none of these (3,000,000 CNY, 50%). The entity type itself is SZ-ELIG-1's to require.
    """
    if data.get("entity_type") != "enterprise":
        return None
    if not isinstance(data.get("is_sme"), bool):
        return Refusal(
            "SZ-AMT-2",
            "an enterprise must state whether it is an SME: it decides the annual cap "
            f"({format_yuan(round_.cap_sme_fen)} CNY for an SME, {format_yuan(round_.cap_other_fen)} CNY otherwise)",
            "data.is_sme",
        )
    if not data.get("registered_on"):
        return Refusal(
            "SZ-AMT-3",
            "an enterprise must state its registration date: an enterprise registered less than a year "
            f"before the guide ({round_.guide_published}) may receive {round_.startup_percent}%",
            "data.registered_on",
        )
    if _young(round_, data) and data.get("annual_spend_cny") is None:
        return Refusal(
            "SZ-AMT-3",
            f"an enterprise registered less than a year before the guide must state its annual compute spend: "
            f"{format_yuan(round_.startup_min_spend_fen)} CNY or more decides {round_.startup_percent}% "
            f"instead of {round_.base_percent}%",
            "data.annual_spend_cny",
        )
    return None


def amount_facts_guard(round_: VoucherRound) -> Guard:
    """SZ-AMT-2/3: a fact that changes the amount is stated at submission, never defaulted."""

    def check(ctx: GuardContext) -> Refusal | None:
        return missing_amount_fact(round_, ctx.data)

    return Guard("SZ-AMT-2", check, "facts that decide the amount stated")


def _young(round_: VoucherRound, data: Mapping[str, Any]) -> bool:
    return date.fromisoformat(data["registered_on"]) > one_year_before(round_.guide_published)


def is_startup(round_: VoucherRound, data: Mapping[str, Any]) -> bool:
    """SZ-AMT-3: an enterprise registered less than a year before the guide, spending >= 500,000 CNY a year.

    Call only when :func:`missing_amount_fact` found nothing missing.
    """
    if data.get("entity_type") != "enterprise" or not _young(round_, data):
        return False
    spend = parse_yuan(data["annual_spend_cny"], field="data.annual_spend_cny")
    return spend >= round_.startup_min_spend_fen


def one_year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February): a year is a calendar year, not 365 days."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def voucher(round_: VoucherRound, data: Mapping[str, Any], already_fen: int = 0) -> Amount | None:
    """SZ-AMT-1..3: at most 50% (start-ups 60%) of each contract, contract by contract within the annual cap.

    ``already_fen`` is what the applicant's other cases hold of the same year's cap (see
    :mod:`workflow.caps`); each contract takes its share while the cap has some left. Each
    share is rounded down to the fen ("不超过": never a fen above the percentage). While a
    fact that changes the amount is missing (:func:`missing_amount_fact`) there is no amount:
    a draft never shows a figure that silently assumes the answer.
    """
    contracts = data.get("contracts") or []
    if not contracts or data.get("entity_type") not in ENTITY_TYPES or missing_amount_fact(round_, data):
        return None
    startup = is_startup(round_, data)
    percent, rule = (round_.startup_percent, "SZ-AMT-3") if startup else (round_.base_percent, "SZ-AMT-1")
    sme = data["entity_type"] != "enterprise" or data["is_sme"] is True
    cap = round_.cap_sme_fen if sme else round_.cap_other_fen
    left = max(cap - already_fen, 0)
    steps, steps_zh, total, uncapped = [], [], 0, 0
    for i, contract in enumerate(contracts):
        amount = parse_yuan(contract.get("amount_cny", "0"), field=f"data.contracts.{i}.amount_cny")
        share = percent_ceiling(amount, percent)
        granted = min(share, left - total)
        step = (
            f"{rule}: at most {percent}% of contract {i + 1} ({format_yuan(amount)} CNY), "
            f"rounded down to the fen, = {format_yuan(share)} CNY"
        )
        step_zh = (
            f"{rule}：合同 {i + 1}（{format_yuan(amount)} 元）× 不超过 {percent}%，"
            f"向下取整到分 = {format_yuan(share)} 元"
        )
        if granted < share:
            step += f"; SZ-AMT-2: {format_yuan(granted)} CNY of the annual cap is left for it"
            step_zh += f"；SZ-AMT-2：年度上限仅余 {format_yuan(granted)} 元"
        steps.append(step)
        steps_zh.append(step_zh)
        total += granted
        uncapped += share
    if total < uncapped:
        kind = "SME or institution" if sme else "non-SME enterprise"
        steps.append(
            f"SZ-AMT-2: annual cap {format_yuan(cap)} CNY ({kind}); the applicant's other cases hold "
            f"{format_yuan(already_fen)} CNY; this case gets {format_yuan(total)} CNY"
        )
        steps_zh.append(
            f"SZ-AMT-2：年度上限 {format_yuan(cap)} 元（{'中小企业或机构' if sme else '非中小企业'}），"
            f"该单位其他案件已占用 {format_yuan(already_fen)} 元，本案核定 {format_yuan(total)} 元"
        )
    return Amount(total, tuple(steps), tuple(steps_zh))
