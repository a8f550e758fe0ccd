"""zh-CN labels for what the console shows: states, events and notice kinds from the program, the rest here.

State, event and notice-kind labels come from the program definition the case runs under
(``notice_labels``), so they never drift from the process and a new program brings its own.
Deadline and notice statuses, channels, the engine's and shared notice kinds and audit kinds
are engine or outbox vocabulary that no program defines; they are named here. An unknown key
is shown as itself, so a new kind appears (untranslated) rather than breaking the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from states import registry
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

COMMON_NOTICE_KINDS = {
    "new_submission": "新申报提醒（工作人员）",
    "paper_deadline_missed": "书面材料逾期（工作人员）",
    "objection_raised": "公示异议（工作人员）",
    "window_closing": "申报截止提醒",
    "override": "状态调整通知",
    "deadline_extended": "期限延长通知",
    "deadline_suspended": "期限暂停通知",
    "deadline_resumed": "期限恢复通知",
    "deadline_moved": "期限变更通知",
    "deadline_failed": "期限处理失败（工作人员）",
    "notice_dead": "通知发送失败（工作人员）",
    "case.changed": "案件变更推送",
    "applicant_listed": "申请单位被列入名单（工作人员）",
}
"""Notice kinds the engine queues for any program, and those whose wording is shared
(``notifications/templates/_common``); a program labels its own kinds (``notice_labels``)."""


def notice_kinds(definitions: Iterable[ProcessDefinition]) -> dict[str, str]:
    """Every notice kind's label for pages that list notices of several programs (the shared ones, then
    each program's, a program's winning for its own kinds)."""
    table = dict(COMMON_NOTICE_KINDS)
    for definition in definitions:
        table.update(definition.notice_labels)
    return table


NOTICE_KINDS = notice_kinds(registry.definitions())
"""The built-in programs' notice kinds; a page that knows the engine uses
``notice_kinds(p.definition for p in engine.programs)``, which also has the ``FILINGFLOW_PROGRAMS`` ones."""

AUDIT_KINDS = {
    "open": "创建案件",
    "transition": "事件",
    "system": "系统事件",
    "override": "状态调整",
    "deadline": "期限变更",
    "migration": "流程版本迁移",
    "amount": "金额调整",
    "notice": "通知重发",
    "listing": "名单核查",
}

ENGINE_EVENTS = {
    "deadline.extend": "延长期限",
    "deadline.suspend": "暂停计时",
    "deadline.resume": "恢复计时",
    "deadline.recompute": "按日历重新计算期限",
    "deadline.failed": "期限到期处理失败",
    "amount.rebalanced": "按年度上限重新分配金额",
    "notice.resent": "重新发送通知",
    "listing.flagged": "申请单位被列入名单",
}


@dataclass(frozen=True, slots=True)
class ProcessLabels:
    """Labels of one program version's states and events, falling back to the raw key."""

    states: dict[str, str]
    events: dict[str, str]
    notices: dict[str, str]

    @classmethod
    def of(cls, definition: ProcessDefinition) -> ProcessLabels:
        return cls(
            states={s.key: s.label for s in definition.states},
            events={e.name: e.label for e in definition.events},
            notices=notice_kinds([definition]),
        )

    def state(self, key: str | None) -> str:
        return self.states.get(key, key) if key else ""

    def event(self, name: str | None) -> str:
        if not name:
            return ""
        return self.events.get(name) or ENGINE_EVENTS.get(name, name)

    def notice(self, kind: str | None) -> str:
        """A notice kind of this program (its own label, else the shared one, else the key)."""
        return self.notices.get(kind, kind) if kind else ""


def label(table: dict[str, str], key: str | None) -> str:
    """``table[key]``, or the key itself when the table does not know it."""
    return table.get(key, key) if key else ""
