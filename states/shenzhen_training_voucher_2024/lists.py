"""The official lists the voucher checks (SZ-ELIG-2 decided against data, SZ-LIST-1).

二(二): 申请单位未被列入深圳市科研诚信异常名录和超期未申请验收名单，不存在未在规定期限内退回财政资金的
情况，未列入国家或深圳市严重违法失信名单. Each list's key is the applicant's declaration of it
(``data.declarations.<key>``); ``serious_dishonesty`` is shared with Longgang. A clawback for
false materials (SZ-CLAW-1) lists the applicant in the research-integrity exception list
(科研诚信异常名录, the guide's 特别提醒).
"""

from __future__ import annotations

from workflow.official_lists import OfficialList

RULE = "SZ-LIST-1"
INTEGRITY_LIST = "research_integrity_abnormal"
OFFICIAL_LISTS = (
    OfficialList(
        INTEGRITY_LIST,
        "深圳市科研诚信异常名录",
        "Shenzhen research-integrity exception list",
        RULE,
        declaration="declarations.research_integrity_abnormal",
    ),
    OfficialList(
        "overdue_acceptance",
        "超期未申请验收名单",
        "overdue-acceptance list",
        RULE,
        declaration="declarations.overdue_acceptance",
    ),
    OfficialList(
        "unreturned_funds",
        "未按期退回财政资金名单",
        "list of fiscal funds not returned in time",
        RULE,
        declaration="declarations.unreturned_funds",
    ),
    OfficialList(
        "serious_dishonesty",
        "国家或深圳市严重违法失信名单",
        "national or Shenzhen serious illegal and dishonest list",
        RULE,
        declaration="declarations.serious_dishonesty",
    ),
)
