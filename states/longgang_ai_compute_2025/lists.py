"""The official lists Longgang checks (LG-ELIG-2 decided against data, LG-LIST-1).

三(一)2: 申报单位未被依法依规列入严重失信主体名单且在有效期内. The list is kept by the credit
authorities and imported by staff; the key is shared with the Shenzhen voucher, which checks the
same national and Shenzhen serious-dishonesty lists. A clawback for false materials (LG-CLAW-1)
puts the applicant on it (``INTEGRITY_LIST``).
"""

from __future__ import annotations

from workflow.official_lists import OfficialList

RULE = "LG-LIST-1"
INTEGRITY_LIST = "serious_dishonesty"
OFFICIAL_LISTS = (
    OfficialList(
        INTEGRITY_LIST,
        "严重失信主体名单",
        "serious-dishonesty list",
        RULE,
        declaration="on_serious_dishonesty_list",
    ),
)
