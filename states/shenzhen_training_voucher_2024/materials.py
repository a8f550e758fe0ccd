"""SZ-MAT-1: the online materials (no paper step), plus the signed-and-stamped page (SZ-FLOW-1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from states import common
from states.common import MATERIAL_STATUSES, NOT_TAXED, MaterialItem

__all__ = ["CHECKLIST", "ITEMS", "MATERIAL_STATUSES", "checklist_view"]


CHECKLIST: tuple[MaterialItem, ...] = (
    MaterialItem("business_licence", "SZ-MAT-1", "营业执照或事业单位登记证书复印件（法人签名并加盖公章）"),
    MaterialItem("compute_contract", "SZ-MAT-1", "算力服务合同（含AI大模型训练及应用的具体内容、收费金额）"),
    MaterialItem(
        "financial_report",
        "SZ-MAT-1",
        "上一年度财务审计报告（含二维验证码封面）或财务决算报表；注册未满一年的提供验资报告",
    ),
    # every applicant but a public institution (事业单位, by its credit code): a university or
    # institute that is not one provides it too
    MaterialItem(
        "tax_certificate",
        "SZ-MAT-1",
        "上年度纳税证明（非事业单位提供）",
        condition="事业单位除外",
        exempt_kinds=NOT_TAXED,
    ),
    MaterialItem(
        "commitment_letters",
        "SZ-MAT-1",
        "承诺书：科研诚信承诺书、廉洁告知书、知识产权合规性声明、训力审计同意书（法人签名并加盖公章）",
    ),
    MaterialItem("signed_page", "SZ-FLOW-1", "签字盖章页（打印、签字盖章后扫描上传）"),
)
ITEMS = {item.key: item for item in CHECKLIST}


def checklist_view(data: Mapping[str, Any], applicant_code: str | None = None, /) -> list[dict[str, Any]]:
    return common.checklist_view(CHECKLIST, data, applicant_code)
