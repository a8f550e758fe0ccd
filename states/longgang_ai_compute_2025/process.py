"""The 2025 Longgang AI compute subsidy as a process definition, step by step as the guide has it.

draft --submit (LG-WIN-1, LG-ELIG-*, LG-AMT-1, LG-MAT-*)--> online_review      LG-FLOW-1
online_review --return_for_correction--> returned --resubmit--> online_review LG-FLOW-2, LG-WIN-2
online_review --pass_online_review--> online_approved (watermarked form)       LG-FLOW-3
online_approved --file_on_portal--> portal_review (Guangdong portal)           LG-FLOW-4
portal_review --approve_on_portal (SMS)--> awaiting_paper, 5 working days      LG-FLOW-5, LG-DL-1
awaiting_paper --receive_paper (service window)--> evaluation
awaiting_paper --miss_paper_deadline--> abandoned                               LG-DL-1
evaluation --start_publicity--> publicity --fund--> funded                      LG-FLOW-6
draft --window_closed--> abandoned                                              LG-WIN-1
reject (staff, with reason) and withdraw (applicant) from the live stages.
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
    Guard,
    NoticeRule,
    PayloadField,
    ProcessDefinition,
    ReminderRung,
    State,
)

from . import rules
from .data import prepare_data
from .examples import examples
from .lists import INTEGRITY_LIST, OFFICIAL_LISTS
from .lists import RULE as LIST_RULE
from .materials import checklist_view
from .notices import NOTICE_LABELS, notice_context
from .round import LONGGANG_2025, LonggangRound
from .service_windows import SERVICE_WINDOWS

TEMPLATES = Path(__file__).with_name("templates")
"""The program's notice templates: every round built here renders with them."""
AGENT_RULE = "LG-AGENT-1"
CLAW_RULE = "LG-CLAW-1"
GRANTED = ("funded",)


def _notice(kind: str, rule: str = "LG-NOTE-1") -> tuple[NoticeRule, ...]:
    return sms_and_email(kind, rule)


def build(round_: LonggangRound = LONGGANG_2025) -> ProcessDefinition:
    """The Longgang process for one round's parameters."""
    eligibility = rules.eligibility_guards(round_)
    live = ("online_review", "returned", "online_approved", "portal_review", "awaiting_paper", "evaluation")
    # publicity and after: the applicant can no longer withdraw, the office decides
    states: tuple[State, ...] = (
        State("draft", "草稿（未提交）", "draft", opens=("online_window",)),
        State(
            "online_review",
            "线上审核中",
            "online review",
            notices=(*_notice("submission_received"), NoticeRule("new_submission", ("email",), audience="staff")),
        ),
        State("returned", "退回修改", "returned for correction", notices=_notice("returned_for_correction")),
        State(
            "online_approved", "已通过线上终审", "passed online final review", notices=_notice("passed_online_review")
        ),
        State("portal_review", "广东政务服务网审核中", "Guangdong portal review", notices=_notice("portal_filed")),
        State(
            "awaiting_paper",
            "待递交书面材料",
            "awaiting paper file",
            opens=("paper_delivery",),
            notices=_notice("portal_approved", "LG-DL-1"),
        ),
        State("evaluation", "书面材料已受理，评审中", "paper received, evaluation", notices=_notice("paper_received")),
        State(
            "publicity",
            "拟资助名单公示中",
            "publicity",
            opens=("publicity_period",),
            notices=_notice("publicity_started", "LG-FLOW-6"),
        ),
        State(
            "objection_review",
            "公示异议处理中",
            "objection under review",
            notices=(NoticeRule("objection_raised", ("email",), "LG-FLOW-6", audience="staff"),),
        ),
        State("awaiting_decision", "公示期满，待资助决定", "publicity ended, awaiting decision"),
        State("funded", "已资助", "funded", final=True, notices=_notice("funded")),
        State("rejected", "不予资助", "rejected", final=True, notices=_notice("rejected")),
        State("abandoned", "逾期视作放弃", "abandoned (late)", final=True, notices=_notice("abandoned")),
        State("withdrawn", "已撤回", "withdrawn", final=True, notices=_notice("withdrawn")),
    )
    # ---- clawback (LG-CLAW-1): after funding, recovered or written off; funded is no longer final
    states = (*clawback.after_grant(states, GRANTED), *clawback.states(CLAW_RULE))
    events = (
        Event(
            "submit",
            "提交线上申报",
            ("draft",),
            "online_review",
            APPLICANT,
            guards=(intermediary.own_account_guard(AGENT_RULE), rules.window_guard(round_), *eligibility),
            accepts_data=True,
            marks_submission=True,
            payload=(intermediary.SUBMITTER,),  # who submitted (AGENT_RULE)
        ),
        Event("return_for_correction", "退回修改", ("online_review",), "returned", STAFF, requires=("reason",)),
        Event(
            "resubmit",
            "修改后重新提交",
            ("returned",),
            "online_review",
            APPLICANT,
            guards=(intermediary.own_account_guard(AGENT_RULE), *eligibility),
            accepts_data=True,
            payload=(intermediary.SUBMITTER,),  # who submitted (AGENT_RULE)
        ),
        Event("pass_online_review", "通过线上终审", ("online_review",), "online_approved", STAFF),
        Event("file_on_portal", "已在广东政务服务网提交", ("online_approved",), "portal_review", APPLICANT),
        Event(
            "approve_on_portal",
            "广东政务服务网审核通过（短信通知）",
            ("portal_review",),
            "awaiting_paper",
            PORTAL,
            payload=(
                # LG-DL-1 counts from the portal's SMS, which the platform may relay days later
                PayloadField(
                    "portal_notified_at",
                    "instant",
                    not_future=True,
                    not_before_entry=True,
                    description="when the Guangdong portal sent the approval SMS (absent: now)",
                    label_zh="门户短信发送时间",
                ),
                PayloadField(
                    "portal_reference",
                    "text",
                    max_length=100,
                    description="the portal's case number",
                    label_zh="门户业务编号",
                ),
            ),
        ),
        Event(
            "receive_paper",
            "受理书面材料",
            ("awaiting_paper",),
            "evaluation",
            STAFF,
            guards=(Guard("LG-FLOW-5", rules.service_window_guard, "listed service window"),),
            payload=(
                PayloadField(
                    "service_window",
                    "integer",
                    required=True,
                    minimum=1,
                    maximum=999,
                    description="the number of the service window (1-13, LG-FLOW-5) that received the paper",
                    label_zh="受理窗口",
                    choices="service_windows",
                ),
            ),
            requires=("service_window",),  # staff give it case by case (not in a batch)
        ),
        Event("miss_paper_deadline", "逾期未递交书面材料", ("awaiting_paper",), "abandoned", SYSTEM_ONLY),
        Event("window_closed", "申报期结束未提交", ("draft",), "abandoned", SYSTEM_ONLY),
        Event(
            "start_publicity",
            "公示拟资助名单",
            ("evaluation",),
            "publicity",
            STAFF,
            guards=(rules.filing_period_ended_guard(round_), listed_guard(LIST_RULE, OFFICIAL_LISTS)),
        ),
        Event("publicity_ended", "公示期满无异议", ("publicity",), "awaiting_decision", SYSTEM_ONLY),
        Event("raise_objection", "登记公示异议", ("publicity",), "objection_review", PORTAL, requires=("reason",)),
        Event(
            "resolve_objection", "异议处理完毕", ("objection_review",), "awaiting_decision", STAFF, requires=("reason",)
        ),
        Event(
            "fund",
            "作出资助决定",
            ("awaiting_decision",),
            "funded",
            STAFF,
            guards=(listed_guard(LIST_RULE, OFFICIAL_LISTS),),
        ),
        Event(
            "reject",
            "不予资助",
            # from `returned` too: an applicant who never corrects is rejected with a reason (no
            # resubmission deadline: the guide sets none, LG-FLOW-2)
            (
                "online_review",
                "returned",
                "portal_review",
                "evaluation",
                "publicity",
                "objection_review",
                "awaiting_decision",
            ),
            "rejected",
            STAFF,
            requires=("reason",),
        ),
        Event("withdraw", "撤回申请", ("draft", *live), "withdrawn", APPLICANT),
        intermediary.reject_event(AGENT_RULE, ("online_review", "returned")),  # found at formal review (LG-AGENT-1)
        *clawback.events(CLAW_RULE, sources=GRANTED, integrity_list=INTEGRITY_LIST),  # LG-CLAW-1
    )
    window_reminder = NoticeRule("window_closing", rule="LG-NOTE-1")
    deadlines = (
        DeadlineRule(
            "online_window",
            "LG-WIN-1",
            "线上申报截止",
            "window_closed",
            due=round_.closes_at,
            met_by=("submit",),
            reminders=(
                ReminderRung("3_days_before", window_reminder, calendar_days_before=3),
                ReminderRung("1_day_before", window_reminder, calendar_days_before=1),
            ),
        ),
        DeadlineRule(
            "paper_delivery",
            "LG-DL-1",
            "书面材料递交期限",
            "miss_paper_deadline",
            working_days=round_.paper_working_days,
            met_by=("receive_paper",),
            starts_from="portal_notified_at",
            reminders=(
                ReminderRung(
                    "2_working_days_before", NoticeRule("paper_due_soon", rule="LG-NOTE-1"), working_days_before=2
                ),
                ReminderRung(
                    "last_day_morning", NoticeRule("paper_due_today", rule="LG-NOTE-1"), working_days_before=0
                ),
            ),
            expiry_alert=NoticeRule("paper_deadline_missed", ("email",), "LG-DL-1", audience="staff"),
        ),
        DeadlineRule(
            "publicity_period",
            "LG-FLOW-6",
            "公示期",
            "publicity_ended",
            working_days=round_.publicity_working_days,
        ),
    )
    return ProcessDefinition(
        key=round_.key,
        version=round_.version,
        title=f"{round_.year}年龙岗区人工智能算力扶持项目",
        title_en=f"{round_.year} Longgang District AI compute subsidy",
        initial="draft",
        states=states,
        events=events,
        deadlines=deadlines,
        prepare_data=prepare_data,
        amount=partial(rules.subsidy, round_),
        checklist=checklist_view,
        official_lists=OFFICIAL_LISTS,  # LG-LIST-1: checked at submission and decision, open cases flagged
        unique_live_case_rule="LG-ELIG-2",
        # 三(一)4: one filing of the matter per enterprise and round. Decided (funded, rejected) or
        # given up (abandoned, 逾期视作放弃) blocks a new case; after a withdrawal it may file again.
        refiling_blocked_by=("funded", "rejected", "abandoned", "recovered", "written_off"),
        publicity_states=("publicity",),  # LG-FLOW-6: the list published before the decision
        open_guards=(
            round_open_guard("LG-WIN-1", round_.closes_at),
            Guard("LG-ELIG-1", rules.enterprise_guard, "an enterprise (credit code 91...)", "applicant.code"),
        ),
        # LG-AMT-2: 6,000,000 CNY per enterprise per year, across every round of the year
        cap_group=f"longgang-ai-compute:{round_.year}",
        cap_rule="LG-AMT-2",
        granted_states=(*GRANTED, *clawback.STATES),  # a clawback keeps counting what was granted
        reference={
            "staff_refusals": intermediary.refusal_reference(AGENT_RULE),  # counted in the round overview
            "round": {
                "year": round_.year,
                "window_opens": round_.window_opens.isoformat(),
                "window_closes": round_.window_closes.isoformat(),
                "paper_working_days": round_.paper_working_days,
            },
            "service_windows": [
                {"number": w.number, "name": w.name, "address": w.address, "phone": w.phone} for w in SERVICE_WINDOWS
            ],
        },
        override_notice=NoticeRule("override", ("sms", "email")),
        templates=TEMPLATES,
        notice_context=notice_context,
        notice_labels={**clawback.NOTICE_LABELS, **NOTICE_LABELS},
        examples=examples(round_),
    )
