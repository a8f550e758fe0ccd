"""What the Longgang notices say beyond the generic: their template values and zh-CN labels (LG-NOTE-1).

The portal-approval and paper notices list the 13 service windows and the paper deadline
(LG-DL-1, LG-FLOW-5), the receipt names the window that took the paper, the publicity
notice its end (LG-FLOW-6); the templates are in ``templates/`` beside this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from states.common import deadline_context, window_close_context

NOTICE_LABELS = {
    "submission_received": "申报已收到",
    "returned_for_correction": "退回修改通知",
    "passed_online_review": "线上终审通过通知",
    "portal_filed": "政务服务网已提交",
    "portal_approved": "政务服务网审核通过",
    "paper_received": "书面材料已受理",
    "paper_due_soon": "书面材料即将到期提醒",
    "paper_due_today": "书面材料今日到期提醒",
    "publicity_started": "公示开始通知",
    "funded": "资助决定通知",
    "rejected": "不予资助通知",
    "withdrawn": "撤回确认",
    "abandoned": "视作放弃通知",
}


def notice_context(stored: Mapping[str, Any], reference: Mapping[str, Any]) -> dict[str, Any]:
    """The Longgang templates' own values (``ProcessDefinition.notice_context``)."""
    windows = list(reference.get("service_windows", []))
    number = dict(stored.get("payload") or {}).get("service_window")
    return {
        **window_close_context(reference),
        **deadline_context(stored, "paper_delivery", date_key="paper_due_date", end_key="paper_due_end"),
        **deadline_context(stored, "publicity_period", date_key="publicity_end_date", end_key="publicity_end"),
        "paper_working_days": dict(reference.get("round", {})).get("paper_working_days"),
        "service_windows": windows,
        "service_window": next((w for w in windows if w.get("number") == number), None),
    }
