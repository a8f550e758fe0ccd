"""The Longgang rules that can refuse an event, and the subsidy amount.

Each guard is named by its SPEC.md rule ID and says, in its refusal, what is wrong and
which field is at fault. They read only the :class:`~workflow.definition.GuardContext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from states.common import MaterialStatus, closing_time
from states.listing_rules import listed_guard
from states.provider_catalogue import catalogued
from workflow.applicants import applicant_kind, applicant_kind_label
from workflow.clock import SHANGHAI
from workflow.definition import Amount, Guard, GuardContext, Refusal
from workflow.money import format_yuan, parse_yuan, percent_of

from .lists import OFFICIAL_LISTS
from .lists import RULE as LIST_RULE
from .materials import OUTSIDE_CATALOGUE_ITEMS, checklist_status
from .round import LonggangRound
from .service_windows import window_by_number


def _missing(field: str, rule: str) -> Refusal:
    return Refusal(rule, f"{field} is required for submission", field, reason_zh=f"提交申报须填写 {field}")


def window_guard(round_: LonggangRound) -> Guard:
    """LG-WIN-1: the first online submission falls inside the window (Asia/Shanghai)."""

    def check(ctx: GuardContext) -> Refusal | None:
        if round_.opens_at <= ctx.now < round_.closes_at:
            return None
        local = ctx.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        opens, closes = round_.window_opens, round_.window_closes
        return Refusal(
            "LG-WIN-1",
            f"online submission is accepted from {opens} to {closes} (Asia/Shanghai); it is now {local}",
            "submitted_at",
            reason_zh=f"线上申报时间为 {opens.year}年{opens.month}月{opens.day}日至{closes.month}月{closes.day}日"
            f"（北京时间），现在是 {local}",
        )

    return Guard("LG-WIN-1", check, "online submission window", field="submitted_at")


def operating_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-ELIG-1: operates in Longgang (a branch's authorisation is a checklist item)."""
    value = ctx.data.get("operating_in_longgang")
    if value is None:
        return _missing("data.operating_in_longgang", "LG-ELIG-1")
    return None if value else "the applicant must be an enterprise operating in Longgang"


def enterprise_guard(ctx: GuardContext) -> str | None:
    """LG-ELIG-1: 申报单位须为企业, decided by the credit code's authority and category digits (91)."""
    if applicant_kind(ctx.applicant_code) == "enterprise":
        return None
    return (
        f"the program is for enterprises only (申报单位须为企业): credit code {ctx.applicant_code} is registered as "
        f"{applicant_kind_label(ctx.applicant_code)}, not 企业（工商, 91）"
    )


def dishonesty_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-ELIG-2: not on the serious-dishonesty list."""
    value = ctx.data.get("on_serious_dishonesty_list")
    if value is None:
        return _missing("data.on_serious_dishonesty_list", "LG-ELIG-2")
    return "the applicant is on the serious-dishonesty list" if value else None


def supplier_affiliation_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-ELIG-3: compute bought from a non-affiliated supplier."""
    supplier = ctx.data.get("supplier") or {}
    if supplier.get("affiliated") is None:
        return _missing("data.supplier.affiliated", "LG-ELIG-3")
    if supplier["affiliated"]:
        return (
            "compute must be bought from a non-affiliated supplier (not a subsidiary, parent or under common control)"
        )
    return None


def compute_use_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-ELIG-4: compute used for large-model training or inference, or generative-AI exploration (二(一))."""
    if not ctx.data.get("compute_uses"):
        return Refusal(
            "LG-ELIG-4",
            "compute must be used for large-model training (pre-training, SFT, RL), inference, "
            "or generative-AI application exploration",
            "data.compute_uses",
            reason_zh="算力须用于大模型训练（预训练、SFT、强化学习）、推理或生成式人工智能应用探索",
        )
    return None


def supplier_qualification_guard(round_: LonggangRound) -> Guard:
    """LG-ELIG-5: serves Longgang (二(二), both routes) AND (catalogued, valid today, OR licence + capacity).

    The catalogue route is a lookup of the supplier's credit code in the shared provider
    catalogue (:mod:`states.provider_catalogue`), valid on the day of (re)submission; never a
    self-declared flag.
    """

    def check(ctx: GuardContext) -> str | Refusal | None:
        supplier = ctx.data.get("supplier") or {}
        if not supplier.get("code"):
            return _missing("data.supplier.code", "LG-ELIG-5")
        today = ctx.now.astimezone(SHANGHAI).date()
        entry = catalogued(supplier["code"], today)
        problems = []
        if supplier.get("serves_longgang") is not True:
            problems.append("has no basis to provide intelligent-compute services in Longgang")
        if entry is None:
            route = [] if supplier.get("idc_isp_licence") is True else ["holds no MIIT IDC/ISP licence"]
            capacity = Decimal(supplier.get("capacity_pflops_fp16") or 0)
            if capacity < round_.min_capacity_pflops:
                route.append(f"offers {capacity} PFLOPS (FP16), below {round_.min_capacity_pflops}")
            if route:
                problems.append(f"is not in the training-voucher catalogue on {today} and " + "; ".join(route))
        if not problems:
            return None
        return Refusal(
            "LG-ELIG-5",
            "the supplier " + "; ".join(problems),
            "data.supplier",
            reason_zh="算力供给方须具备在龙岗区开展智能算力服务的基础，并且在训力券服务机构目录内（在认定有效期内），"
            f"或持有工信部 IDC/ISP 许可证且算力不低于 {round_.min_capacity_pflops} PFLOPS（FP16）",
        )

    return Guard("LG-ELIG-5", check, "qualified compute supplier", field="data.supplier")


def minimum_fees_guard(round_: LonggangRound) -> Guard:
    """LG-AMT-1: compute fees of the prior annual cycle at least 500,000 CNY (inclusive)."""

    def check(ctx: GuardContext) -> str | Refusal | None:
        raw = ctx.data.get("fees_cny")
        if raw is None:
            return _missing("data.fees_cny", "LG-AMT-1")
        fees = parse_yuan(raw, field="data.fees_cny")
        if fees < round_.min_fees_fen:
            return Refusal(
                "LG-AMT-1",
                f"compute fees of {format_yuan(fees)} CNY are below the {format_yuan(round_.min_fees_fen)} CNY minimum",
                "data.fees_cny",
                reason_zh=f"算力费用 {format_yuan(fees)} 元，低于 {format_yuan(round_.min_fees_fen)} 元的申报门槛",
            )
        return None

    return Guard("LG-AMT-1", check, "minimum compute fees", field="data.fees_cny")


def _statuses_on_the_day(ctx: GuardContext) -> list[MaterialStatus]:
    """The checklist, with the supplier's licence copy and capacity proof required when its catalogue entry is
    not valid on the day (四(二)3: "若算力供给方不是...训力券入库服务机构"). The checklist alone knows no date, so
    it asks them only of a supplier never catalogued; one whose recognition lapsed qualifies by the licence route
    (LG-ELIG-5) and owes that route's proofs too."""
    statuses = checklist_status(ctx.data, ctx.applicant_code)
    code = str((ctx.data.get("supplier") or {}).get("code") or "")
    if not code or catalogued(code, ctx.now.astimezone(SHANGHAI).date()) is not None:
        return statuses
    return [replace(s, required=True) if s.item.key in OUTSIDE_CATALOGUE_ITEMS else s for s in statuses]


def materials_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-MAT-1/LG-MAT-2: every required item provided; names the first missing one."""
    missing = [s for s in _statuses_on_the_day(ctx) if s.missing]
    if not missing:
        return None
    first = missing[0]
    others = f" (and {len(missing) - 1} more: {', '.join(s.item.key for s in missing[1:])})" if len(missing) > 1 else ""
    condition = f", required {first.item.condition}" if first.item.condition else ""
    more = f"（另缺 {len(missing) - 1} 项）" if len(missing) > 1 else ""
    return Refusal(
        first.item.rule,
        f"material missing: {first.item.label}{condition}{others}",
        f"data.materials.{first.item.key}",
        reason_zh=f"缺少材料：{first.item.label}{more}",
    )


def service_window_guard(ctx: GuardContext) -> str | Refusal | None:
    """LG-FLOW-5: the paper file is received at one of the 13 listed service windows."""
    if "service_window" not in ctx.payload:
        return None  # not given yet: the event's `requires` asks for it; this checks what is given
    number = ctx.payload.get("service_window")
    if isinstance(number, bool) or not isinstance(number, int) or window_by_number(number) is None:
        return Refusal(
            "LG-FLOW-5",
            "service_window must be the number (1-13) of a listed service window",
            "payload.service_window",
            reason_zh="受理窗口须为所列 13 个窗口之一的编号（1-13）",
        )
    return None


def filing_period_ended_guard(round_: LonggangRound) -> Guard:
    """LG-FLOW-6: publicity follows the end of the filing period (申报期结束后), never before."""

    def check(ctx: GuardContext) -> str | None:
        if ctx.now >= round_.closes_at:
            return None
        return f"the proposed funding list is published after the filing period ends ({closing_time(round_.closes_at)})"

    return Guard("LG-FLOW-6", check, "filing period ended", field="event", reason_zh="拟资助名单须在申报期结束后公示")


def eligibility_guards(round_: LonggangRound) -> tuple[Guard, ...]:
    """What every (re)submission must satisfy, window aside (LG-WIN-2)."""
    return (
        Guard(
            "LG-ELIG-1",
            enterprise_guard,
            "an enterprise (credit code 91...)",
            "applicant.code",
            "本项目仅限企业申报（统一社会信用代码须为工商登记的企业，91 开头）",
        ),
        Guard(
            "LG-ELIG-1", operating_guard, "operates in Longgang", "data.operating_in_longgang", "申报单位须在龙岗区经营"
        ),
        listed_guard(LIST_RULE, OFFICIAL_LISTS),  # the list decides (LG-LIST-1), before the declaration
        Guard(
            "LG-ELIG-2",
            dishonesty_guard,
            "not on the dishonesty list",
            "data.on_serious_dishonesty_list",
            "申报单位被列入严重失信主体名单",
        ),
        Guard(
            "LG-ELIG-3",
            supplier_affiliation_guard,
            "non-affiliated supplier",
            "data.supplier.affiliated",
            "算力须向非关联供应商采购（不得为子公司、母公司或受同一控制的企业）",
        ),
        Guard("LG-ELIG-4", compute_use_guard, "training or inference use", "data.compute_uses"),
        supplier_qualification_guard(round_),
        minimum_fees_guard(round_),
        Guard("LG-MAT-1", materials_guard, "materials complete (LG-MAT-1, LG-MAT-2)", "data.materials"),
    )


def subsidy(round_: LonggangRound, data: Mapping[str, Any], already_fen: int = 0) -> Amount | None:
    """LG-AMT-1/LG-AMT-2: 30% of the fees if they reach 500,000 CNY, capped at 6,000,000 CNY.

    The cap is per enterprise per year, across all its cases of the year's rounds (the
    definition's ``cap_group``): ``already_fen`` is what its other cases hold (workflow.caps).
    """
    raw = data.get("fees_cny")
    if raw is None:
        return None
    fees = parse_yuan(raw, field="data.fees_cny")
    if fees < round_.min_fees_fen:
        return Amount(
            0,
            (f"LG-AMT-1: fees {format_yuan(fees)} CNY < {format_yuan(round_.min_fees_fen)} CNY: no subsidy",),
            (f"LG-AMT-1：算力费用 {format_yuan(fees)} 元，低于 {format_yuan(round_.min_fees_fen)} 元：不予资助",),
        )
    share = percent_of(fees, round_.subsidy_percent)
    steps = [f"LG-AMT-2: {round_.subsidy_percent}% of {format_yuan(fees)} CNY = {format_yuan(share)} CNY"]
    steps_zh = [f"LG-AMT-2：算力费用 {format_yuan(fees)} 元 × {round_.subsidy_percent}% = {format_yuan(share)} 元"]
    left = max(round_.cap_fen - already_fen, 0)
    if share > left:
        if already_fen:
            steps.append(
                f"LG-AMT-2: the enterprise's other cases of {round_.year} hold {format_yuan(already_fen)} CNY of "
                f"the {format_yuan(round_.cap_fen)} CNY yearly cap; this case gets at most {format_yuan(left)} CNY"
            )
            steps_zh.append(
                f"LG-AMT-2：该企业 {round_.year} 年的其他案件已占用年度上限 {format_yuan(round_.cap_fen)} 元中的 "
                f"{format_yuan(already_fen)} 元，本案最多 {format_yuan(left)} 元"
            )
        else:
            steps.append(f"LG-AMT-2: capped at {format_yuan(round_.cap_fen)} CNY per enterprise per year")
            steps_zh.append(f"LG-AMT-2：每家企业每年最高 {format_yuan(round_.cap_fen)} 元，按上限核定")
        share = left
    return Amount(share, tuple(steps), tuple(steps_zh))
