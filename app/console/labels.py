"""zh-CN labels for what the console shows: states and events from the program, the rest from small maps.

State and event labels come from the program definition the case runs under, so they never
drift from the process. Deadline and notice statuses, channels, notice kinds and audit kinds
are engine or outbox vocabulary that no program defines; they are named here. An unknown key
is shown as itself, so a new kind appears (untranslated) rather than breaking the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.definition import ProcessDefinition

DEADLINE_STATUSES = {
    "pending": "计时中",
    "suspended": "已暂停",
    "met": "已按期完成",
    "expired": "已逾期",
    "cancelled": "已取消",
    "failed": "逾期处理失败",
}

NOTICE_STATUSES = {"pending": "待发送", "sent": "已发送", "dead": "发送失败"}

CHANNELS = {"sms": "短信", "email": "电子邮件", "webhook": "系统推送（Webhook）"}

NOTICE_KINDS = {
    "submission_received": "申报已收到",
    "new_submission": "新申报提醒（工作人员）",
    "returned_for_correction": "退回修改通知",
    "passed_online_review": "线上终审通过通知",
    "portal_filed": "政务服务网已提交",
    "portal_approved": "政务服务网审核通过",
    "paper_received": "书面材料已受理",
    "paper_due_soon": "书面材料即将到期提醒",
    "paper_due_today": "书面材料今日到期提醒",
    "paper_deadline_missed": "书面材料逾期（工作人员）",
    "publicity_started": "公示开始通知",
    "public_notice_started": "公示开始通知",
    "objection_raised": "公示异议（工作人员）",
    "accepted_for_review": "窗口受理通知",
    "expert_review_started": "委托评审通知",
    "approved": "立项通知",
    "voucher_issued": "训力券发放通知",
    "funded": "资助决定通知",
    "rejected": "不予资助通知",
    "withdrawn": "撤回确认",
    "abandoned": "视作放弃通知",
    "window_closing": "申报截止提醒",
    "override": "状态调整通知",
    "deadline_extended": "期限延长通知",
    "deadline_suspended": "期限暂停通知",
    "deadline_resumed": "期限恢复通知",
    "deadline_moved": "期限变更通知",
    "deadline_failed": "期限处理失败（工作人员）",
    "notice_dead": "通知发送失败（工作人员）",
    "case.changed": "案件变更推送",
}

AUDIT_KINDS = {
    "open": "创建案件",
    "transition": "事件",
    "system": "系统事件",
    "override": "状态调整",
    "deadline": "期限变更",
    "migration": "流程版本迁移",
    "amount": "金额调整",
    "listing": "名单核查",
}

ENGINE_EVENTS = {
    "deadline.extend": "延长期限",
    "deadline.suspend": "暂停计时",
    "deadline.resume": "恢复计时",
    "deadline.recompute": "按日历重新计算期限",
    "deadline.failed": "期限到期处理失败",
    "amount.rebalanced": "按年度上限重新分配金额",
    "listing.flagged": "申请单位被列入名单",
}


@dataclass(frozen=True, slots=True)
class ProcessLabels:
    """Labels of one program version's states and events, falling back to the raw key."""

    states: dict[str, str]
    events: dict[str, str]

    @classmethod
    def of(cls, definition: ProcessDefinition) -> ProcessLabels:
        return cls(
            states={s.key: s.label for s in definition.states},
            events={e.name: e.label for e in definition.events},
        )

    def state(self, key: str | None) -> str:
        return self.states.get(key, key) if key else ""

    def event(self, name: str | None) -> str:
        if not name:
            return ""
        return self.events.get(name) or ENGINE_EVENTS.get(name, name)


def label(table: dict[str, str], key: str | None) -> str:
    """``table[key]``, or the key itself when the table does not know it."""
    return table.get(key, key) if key else ""
