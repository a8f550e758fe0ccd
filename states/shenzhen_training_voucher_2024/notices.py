"""What the voucher notices say beyond the generic: their template values and zh-CN labels.

The abandonment notice names the 18:00 close (SZ-WIN-1), the public-notice one its end
(SZ-FLOW-2); the templates are in ``templates/`` beside this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from states.common import deadline_context, window_close_context
from workflow.zh_dates import window_end

NOTICE_LABELS = {
    "submission_received": "申报已收到",
    "returned_for_correction": "退回修改通知",
    "accepted_for_review": "窗口受理通知",
    "expert_review_started": "委托评审通知",
    "public_notice_started": "公示开始通知",
    "approved": "立项通知",
    "voucher_issued": "训力券发放通知",
    "rejected": "不予资助通知",
    "withdrawn": "撤回确认",
    "abandoned": "视作放弃通知",
    "redemption_requested": "训力券兑现申请（工作人员）",
    "redemption_verified": "训力券兑现核实通知",
    "redemption_returned": "训力券兑现退回通知",
    "redemption_ending": "训力券兑现期届满提醒",
    "voucher_expired": "训力券失效通知",
}


def notice_context(stored: Mapping[str, Any], reference: Mapping[str, Any]) -> dict[str, Any]:
    """The voucher templates' own values (``ProcessDefinition.notice_context``)."""
    performance_ends = dict(reference.get("round", {})).get("performance_ends")
    return {
        **window_close_context(reference),
        "performance_end": window_end(performance_ends),  # the service period's end (SZ-REDEEM-2)
        **deadline_context(stored, "publicity_period", date_key="publicity_end_date", end_key="publicity_end"),
    }
