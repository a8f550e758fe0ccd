"""The 2024 Shenzhen training-compute voucher as a process definition (SZ-FLOW-1..3).

  draft --submit (SZ-WIN-1, SZ-ELIG-1..5, SZ-MAT-1, signed page)--> pending_acceptance  SZ-FLOW-1
  pending_acceptance --accept--> preliminary_review --pass_preliminary--> expert_review  SZ-FLOW-2
  preliminary_review --return_for_correction--> returned --resubmit--> preliminary_review
  expert_review --pass_expert_review--> public_notice (N working days)
  public_notice --notice_ended (system)--> awaiting_approval --approve--> approved
  approved --issue_voucher (approval document)--> voucher_issued
  voucher_issued | partially_redeemed | redemption_returned --request_redemption (proofs)--> redemption_requested
  redemption_requested --verify_redemption--> partially_redeemed | --verify_redemption_in_full--> redeemed
  redemption_requested --return_redemption--> redemption_returned              SZ-REDEEM-1 (redemption.py)
  the redeemable states --redemption_period_ended (2026-12-31 24:00)--> voucher_expired  SZ-REDEEM-2
  accept, pass_preliminary and pass_expert_review go in submission order, in batches  SZ-FLOW-3
Online only: there is no paper step (SZ-MAT-1).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from states import clawback, intermediary
from states.common import APPLICANT, PORTAL, STAFF, SYSTEM_ONLY, round_open_guard, sms_and_email
from states.listing_rules import listed_guard
from workflow.definition import (
    DeadlineRule,
    Event,
    NoticeRule,
    PayloadField,
    ProcessDefinition,
    ReminderRung,
    State,
)

from . import redemption, rules
from .data import prepare_data
from .examples import examples
from .lists import INTEGRITY_LIST, OFFICIAL_LISTS
from .lists import RULE as LIST_RULE
from .materials import checklist_view
from .notices import NOTICE_LABELS, notice_context
from .round import SHENZHEN_2024, VoucherRound

ORDER = "SZ-FLOW-3"
AGENT_RULE = "SZ-AGENT-1"
CLAW_RULE = "SZ-CLAW-1"
GRANTED = redemption.AFTER_ISSUE
"""An issued voucher, redeemed or not: a clawback may follow any of these states (SZ-CLAW-1)."""


TEMPLATES = Path(__file__).with_name("templates")
"""The program's notice templates: every round built here renders with them."""


def _notice(kind: str, rule: str = "SZ-FLOW-2") -> tuple[NoticeRule, ...]:
    return sms_and_email(kind, rule)


def build(round_: VoucherRound = SHENZHEN_2024) -> ProcessDefinition:
    """The voucher process for one round's parameters."""
    eligibility = rules.eligibility_guards(round_)
    states: tuple[State, ...] = (
        State("draft", "草稿（未提交）", "draft", opens=("online_window",)),
        State(
            "pending_acceptance",
            "待窗口受理",
            "pending window acceptance",
            notices=(
                *_notice("submission_received", "SZ-FLOW-1"),
                NoticeRule("new_submission", ("email",), audience="staff"),
            ),
        ),
        State("preliminary_review", "电子材料初审中", "preliminary review", notices=_notice("accepted_for_review")),
        State("returned", "退回修改", "returned for correction", notices=_notice("returned_for_correction")),
        State("expert_review", "委托评审中", "commissioned expert review", notices=_notice("expert_review_started")),
        State(
            "public_notice",
            "征求意见及社会公示中",
            "opinion solicitation and public notice",
            opens=("publicity_period",),
            notices=_notice("public_notice_started"),
        ),
        State(
            "objection_review",
            "公示异议处理中",
            "objection under review",
            notices=(NoticeRule("objection_raised", ("email",), "SZ-FLOW-2", audience="staff"),),
        ),
        State("awaiting_approval", "项目审定中", "awaiting project approval"),
        State("approved", "已立项，待发放训力券", "approved", notices=_notice("approved")),
        *_redemption_states(),
        State("rejected", "不予资助", "rejected", final=True, notices=_notice("rejected")),
        State("abandoned", "逾期未提交", "abandoned (late)", final=True, notices=_notice("abandoned", "SZ-WIN-1")),
        State("withdrawn", "已撤回", "withdrawn", final=True, notices=_notice("withdrawn")),
    )
    # ---- clawback (SZ-CLAW-1): after the voucher, recovered or written off; voucher_issued is no longer final
    states = (*clawback.after_grant(states, GRANTED), *clawback.states(CLAW_RULE))
    reviewable = (
        "pending_acceptance",
        "preliminary_review",
        "expert_review",
        "public_notice",
        "objection_review",
        "awaiting_approval",
    )
    events = (
        Event(
            "submit",
            "在线提交申请（已上传签字盖章页）",
            ("draft",),
            "pending_acceptance",
            APPLICANT,
            guards=(intermediary.own_account_guard(AGENT_RULE), rules.window_guard(round_), *eligibility),
            accepts_data=True,
            marks_submission=True,
            payload=(intermediary.SUBMITTER,),  # who submitted (AGENT_RULE)
        ),
        Event("accept", "窗口受理", ("pending_acceptance",), "preliminary_review", STAFF, in_submission_order=ORDER),
        Event("return_for_correction", "退回修改", ("preliminary_review",), "returned", STAFF, requires=("reason",)),
        Event(
            "resubmit",
            "修改后重新提交",
            ("returned",),
            "preliminary_review",
            APPLICANT,
            guards=(intermediary.own_account_guard(AGENT_RULE), *eligibility),
            accepts_data=True,
            payload=(intermediary.SUBMITTER,),  # who submitted (AGENT_RULE)
        ),
        Event(
            "pass_preliminary", "初审通过", ("preliminary_review",), "expert_review", STAFF, in_submission_order=ORDER
        ),
        Event(
            "pass_expert_review",
            "评审通过，进入公示",
            ("expert_review",),
            "public_notice",
            STAFF,
            in_submission_order=ORDER,
        ),
        Event("notice_ended", "公示期满无异议", ("public_notice",), "awaiting_approval", SYSTEM_ONLY),
        Event("raise_objection", "登记公示异议", ("public_notice",), "objection_review", PORTAL, requires=("reason",)),
        Event(
            "resolve_objection", "异议处理完毕", ("objection_review",), "awaiting_approval", STAFF, requires=("reason",)
        ),
        Event(
            "approve",
            "项目审定通过",
            ("awaiting_approval",),
            "approved",
            STAFF,
            guards=(listed_guard(LIST_RULE, OFFICIAL_LISTS),),  # SZ-LIST-1 at the decision too
        ),
        Event(
            "issue_voucher",
            "印发批准文件（发放训力券）",
            ("approved",),
            "voucher_issued",
            STAFF,
            payload=(
                PayloadField(
                    "approval_document",
                    "text",
                    required=True,
                    max_length=200,
                    description="the approval document's number (the voucher, SZ-FLOW-2)",
                    label_zh="批准文件文号",
                ),
            ),
            requires=("approval_document",),  # staff give it case by case (not in a batch)
            guards=(listed_guard(LIST_RULE, OFFICIAL_LISTS),),  # SZ-LIST-1 at the decision too
        ),
        *_redemption_events(round_),
        # from `returned` too: the guide sets no resubmission deadline, so staff reject with a reason
        Event("reject", "不予资助", (*reviewable, "returned"), "rejected", STAFF, requires=("reason",)),
        Event("window_closed", "申请期结束未提交", ("draft",), "abandoned", SYSTEM_ONLY),
        Event(
            "withdraw",
            "撤回申请",
            ("draft", "pending_acceptance", "preliminary_review", "returned", "expert_review"),
            "withdrawn",
            APPLICANT,
        ),
        # found at formal review (SZ-AGENT-1): 在形式审查阶段将不予通过
        intermediary.reject_event(AGENT_RULE, ("pending_acceptance", "preliminary_review", "returned")),
        *clawback.events(CLAW_RULE, sources=GRANTED, integrity_list=INTEGRITY_LIST),  # SZ-CLAW-1
    )
    closing = NoticeRule("window_closing", rule="SZ-WIN-1")
    deadlines = (
        DeadlineRule(
            "online_window",
            "SZ-WIN-1",
            "网上申报截止（18:00）",
            "window_closed",
            due=round_.closes_at,
            met_by=("submit",),
            reminders=(
                ReminderRung("3_days_before", closing, calendar_days_before=3),
                ReminderRung("1_day_before", closing, calendar_days_before=1),
            ),
        ),
        DeadlineRule(
            "publicity_period", "SZ-FLOW-2", "公示期", "notice_ended", working_days=round_.publicity_working_days
        ),
        _redemption_deadline(round_),
    )
    return ProcessDefinition(
        key=round_.key,
        version=round_.version,
        title=f"{round_.year}年度深圳市训力券",
        title_en=f"{round_.year} Shenzhen training-compute voucher",
        initial="draft",
        states=states,
        events=events,
        deadlines=deadlines,
        prepare_data=prepare_data,
        amount=partial(rules.voucher, round_),
        checklist=checklist_view,
        open_guards=(round_open_guard("SZ-WIN-1", round_.closes_at),),
        official_lists=OFFICIAL_LISTS,  # SZ-LIST-1: checked at submission and decision, open cases flagged
        publicity_states=("public_notice",),  # SZ-FLOW-2: the public notice of the supported list
        cap_group=f"shenzhen-training-voucher:{round_.year}",
        cap_rule="SZ-AMT-2",
        granted_states=(
            *GRANTED,
            *clawback.STATES,
        ),  # redemption, expiry and a clawback change nothing in the cap (SZ-AMT-2)
        figures=redemption.figures,
        figure_labels=redemption.FIGURE_LABELS,
        reference={
            "staff_refusals": intermediary.refusal_reference(AGENT_RULE),  # counted in the round overview
            "round": {
                "year": round_.year,
                "window_opens": round_.opens_at.isoformat(),
                "window_closes": round_.closes_at.isoformat(),
                "performance_ends": round_.performance_ends_at.isoformat(),
            },
            "office": "深圳市科技创新局",
            "contact": {"business": "88102501, 88100672", "technical": "86576087, 86576088"},
        },
        override_notice=NoticeRule("override", ("sms", "email")),
        templates=TEMPLATES,
        notice_context=notice_context,
        notice_labels={**clawback.NOTICE_LABELS, **NOTICE_LABELS},
        examples=examples(round_),
    )


# ---- after issue: redemption and expiry (SZ-REDEEM-1/2, redemption.py) --------------------


def _redemption_states() -> tuple[State, ...]:
    """The issued voucher is redeemable (in parts) until redeemed in full or expired."""
    period = ("redemption_period",)
    return (
        State(
            "voucher_issued", "已发放训力券，待兑现", "voucher issued", opens=period, notices=_notice("voucher_issued")
        ),
        State(
            "redemption_requested",
            "兑现申请核实中",
            "redemption requested, under verification",
            notices=(NoticeRule("redemption_requested", ("email",), "SZ-REDEEM-1", audience="staff"),),
        ),
        State(
            "partially_redeemed",
            "已部分兑现，余额可继续兑现",
            "partly redeemed",
            opens=period,
            notices=_notice("redemption_verified", "SZ-REDEEM-1"),
        ),
        State(
            "redemption_returned",
            "兑现申请退回补正",
            "redemption returned",
            opens=period,
            notices=_notice("redemption_returned", "SZ-REDEEM-1"),
        ),
        State("redeemed", "已全部兑现", "redeemed", final=True, notices=_notice("redemption_verified", "SZ-REDEEM-1")),
        State(
            "voucher_expired",
            "训力券已过期（未兑现部分失效）",
            "expired",
            final=True,
            notices=_notice("voucher_expired", "SZ-REDEEM-2"),
        ),
    )


def _redemption_events(round_: VoucherRound) -> tuple[Event, ...]:
    return (
        Event(
            "request_redemption",
            "申请兑现（提交已完成算力服务的证明材料）",
            redemption.REDEEMABLE,
            "redemption_requested",
            APPLICANT,
            guards=redemption.request_guards(round_),
            payload=redemption.request_payload(round_),
            updates_data=redemption.record_request,
        ),
        Event(
            "verify_redemption",
            "核实兑现（部分，余额继续可兑现）",
            ("redemption_requested",),
            "partially_redeemed",
            STAFF,
            guards=redemption.VERIFY_PART_GUARDS,
            payload=redemption.verify_payload(round_),
            updates_data=redemption.record_verified,
        ),
        Event(
            "verify_redemption_in_full",
            "核实兑现（全部余额）",
            ("redemption_requested",),
            "redeemed",
            STAFF,
            guards=redemption.VERIFY_FULL_GUARDS,
            updates_data=redemption.record_verified,
        ),
        Event(
            "return_redemption",
            "退回兑现申请",
            ("redemption_requested",),
            "redemption_returned",
            STAFF,
            guards=redemption.RETURN_GUARDS,
            requires=("reason",),
            updates_data=redemption.record_returned,
        ),
        Event(
            "redemption_period_ended",
            "服务履行期届满，未兑现部分失效",
            redemption.REDEEMABLE,
            "voucher_expired",
            SYSTEM_ONLY,
            updates_data=redemption.record_expired,
        ),
    )


def _redemption_deadline(round_: VoucherRound) -> DeadlineRule:
    """SZ-REDEEM-2: the performance period ends 2026-12-31 24:00; reminders before (30, 7 days)."""
    ending = NoticeRule("redemption_ending", rule="SZ-REDEEM-2")
    return DeadlineRule(
        "redemption_period",
        "SZ-REDEEM-2",
        "训力券兑现期（服务履行期）届满",
        "redemption_period_ended",
        due=round_.performance_ends_at,
        met_by=("request_redemption",),
        reminders=tuple(
            ReminderRung(f"{days}_days_before", ending, calendar_days_before=days)
            for days in round_.redeem_reminder_days
        ),
    )
