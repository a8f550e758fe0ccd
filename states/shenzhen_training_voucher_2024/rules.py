"""The voucher rules that can refuse an event (SZ-WIN-1, SZ-ELIG-1..5, SZ-MAT-1) and the voucher amount."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from workflow.clock import SHANGHAI
from workflow.definition import Amount, Guard, GuardContext, Refusal
from workflow.money import format_yuan, parse_yuan, percent_of

from .data import DECLARATIONS
from .materials import checklist_view
from .providers import catalogued
from .round import VoucherRound


def window_guard(round_: VoucherRound) -> Guard:
    """SZ-WIN-1: from 2024-11-19 to 2024-12-09 18:00 (not midnight)."""

    def check(ctx: GuardContext) -> str | None:
        if round_.opens_at <= ctx.now < round_.closes_at:
            return None
        local = ctx.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        closes = round_.closes_at.strftime("%Y-%m-%d %H:%M")
        return f"filing is accepted from {round_.opens_at:%Y-%m-%d} to {closes} (Asia/Shanghai); it is now {local}"

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
            other = parse_yuan(contract.get("other_fiscal_funding_cny", "0"), field="other")
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


def contract_guard(round_: VoucherRound) -> Guard:
    """SZ-ELIG-5: contracts with a catalogued provider, signed and performed 2024-07-31..2026-12-31."""

    def check(ctx: GuardContext) -> Refusal | None:
        contracts = _contracts(ctx)
        if not contracts:
            return Refusal("SZ-ELIG-5", "at least one service contract is required", "data.contracts")
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
            if not signed <= until <= round_.contracts_until:
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

    return Guard("SZ-ELIG-5", check, "contracts with catalogued providers in the period")


def materials_guard(ctx: GuardContext) -> Refusal | None:
    """SZ-MAT-1 and SZ-FLOW-1: every required item, and the signed-and-stamped page, uploaded."""
    missing = [m for m in checklist_view(ctx.data, ctx.applicant_code) if m["missing"]]
    if not missing:
        return None
    first = missing[0]
    return Refusal(first["rule"], f"material missing: {first['label']}", f"data.materials.{first['key']}")


def eligibility_guards(round_: VoucherRound) -> tuple[Guard, ...]:
    return (
        Guard("SZ-ELIG-1", entity_guard, "eligible applicant"),
        Guard("SZ-ELIG-2", integrity_guard, "not on the lists"),
        other_funding_guard(round_),
        Guard("SZ-ELIG-4", provider_applicant_guard, "not a catalogued provider", field="applicant.code"),
        contract_guard(round_),
        Guard("SZ-MAT-1", materials_guard, "materials complete"),
    )


def is_startup(round_: VoucherRound, data: Mapping[str, Any]) -> bool:
    """SZ-AMT-3: an enterprise registered less than a year before the guide, spending >= 500,000 CNY a year."""
    registered = data.get("registered_on")
    if data.get("entity_type") != "enterprise" or not registered:
        return False
    young = date.fromisoformat(registered) > one_year_before(round_.guide_published)
    spend = parse_yuan(data.get("annual_spend_cny", "0"), field="data.annual_spend_cny")
    return young and spend >= round_.startup_min_spend_fen


def one_year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February): a year is a calendar year, not 365 days."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def voucher(round_: VoucherRound, data: Mapping[str, Any], already_fen: int = 0) -> Amount | None:
    """SZ-AMT-1..3: 50% (start-ups 60%) of each contract, contract by contract within the applicant's annual cap.

    ``already_fen`` is what the applicant's other cases hold of the same year's cap (see
    :mod:`workflow.caps`); each contract takes its share while the cap has some left.
    """
    contracts = data.get("contracts") or []
    if not contracts:
        return None
    startup = is_startup(round_, data)
    percent, rule = (round_.startup_percent, "SZ-AMT-3") if startup else (round_.base_percent, "SZ-AMT-1")
    sme = data.get("entity_type") != "enterprise" or data.get("is_sme") is True
    cap = round_.cap_sme_fen if sme else round_.cap_other_fen
    left = max(cap - already_fen, 0)
    steps, total = [], 0
    for i, contract in enumerate(contracts):
        amount = parse_yuan(contract.get("amount_cny", "0"), field=f"data.contracts.{i}.amount_cny")
        share = percent_of(amount, percent)
        granted = min(share, left - total)
        step = f"{rule}: {percent}% of contract {i + 1} ({format_yuan(amount)} CNY) = {format_yuan(share)} CNY"
        if granted < share:
            step += f"; SZ-AMT-2: {format_yuan(granted)} CNY of the annual cap is left for it"
        steps.append(step)
        total += granted
    if total < sum(percent_of(parse_yuan(c.get("amount_cny", "0"), field="amount"), percent) for c in contracts):
        kind = "SME or institution" if sme else "non-SME enterprise"
        steps.append(
            f"SZ-AMT-2: annual cap {format_yuan(cap)} CNY ({kind}); the applicant's other cases hold "
            f"{format_yuan(already_fen)} CNY; this case gets {format_yuan(total)} CNY"
        )
    return Amount(total, tuple(steps))
