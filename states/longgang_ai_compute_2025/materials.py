"""The materials checklist (LG-MAT-1 basic, LG-MAT-2 specific), as data.

Each item is required always or under a condition on the case data (a branch needs the
head office's authorisation; a supplier outside the voucher catalogue needs its licence
and capacity proof) or on the applicant (the tax certificate: everyone but a public
institution, 事业单位, by its credit code). A required item must be ``provided``; an item that does not apply
may be marked ``not_applicable`` or left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from states import common
from states.common import MATERIAL_STATUSES, NOT_TAXED, MaterialItem, MaterialStatus
from states.provider_catalogue import ever_catalogued

__all__ = ["CHECKLIST", "ITEMS", "MATERIAL_STATUSES", "OUTSIDE_CATALOGUE_ITEMS", "checklist_status", "checklist_view"]


def _branch(data: Mapping[str, Any]) -> bool:
    return bool(data.get("is_branch"))


def _ethics(data: Mapping[str, Any]) -> bool:
    return bool(data.get("touches_ethics_or_security"))


def _outside_catalogue(data: Mapping[str, Any]) -> bool:
    """No catalogue entry for the supplier's credit code; a lapsed one's proofs are asked by
    ``rules.materials_guard``, which knows the day."""
    supplier = data.get("supplier") or {}
    return not ever_catalogued(str(supplier.get("code") or ""))


CHECKLIST: tuple[MaterialItem, ...] = (
    MaterialItem("application_form", "LG-MAT-1", "系统打印的申请书纸质文件（原件）"),
    MaterialItem("business_licence", "LG-MAT-1", "营业执照（或统一社会信用代码证书）"),
    MaterialItem("head_office_authorisation", "LG-MAT-1", "总公司授权证明文件", _branch, "分支机构申请时"),
    MaterialItem("legal_representative_id", "LG-MAT-1", "法定代表人身份证复印件（本人签字）"),
    MaterialItem(
        "project_lead_documents",
        "LG-MAT-1",
        "项目负责人身份证复印件（签字）、劳动合同、近三个月深圳社会保险缴纳凭证",
    ),
    MaterialItem("credit_report", "LG-MAT-1", "深圳信用网完整版信用报告"),
    MaterialItem("financial_statements", "LG-MAT-1", "近两年财务审计报告或财务报表（不足两年的提供成立以来的）"),
    MaterialItem(
        "tax_certificate",
        "LG-MAT-1",
        "上年度纳税证明（非事业单位提供）",
        condition="事业单位除外",
        exempt_kinds=NOT_TAXED,
    ),
    MaterialItem(
        "ethics_security_materials",
        "LG-MAT-1",
        "科技伦理或科技安全相关材料",
        _ethics,
        "项目涉及科技伦理敏感领域或科技安全风险时",
    ),
    MaterialItem("compute_contract", "LG-MAT-2", "算力服务合同（含训练、推理具体内容及收费金额）"),
    MaterialItem("invoices", "LG-MAT-2", "发票"),
    MaterialItem("payment_proofs", "LG-MAT-2", "银行付款凭证"),
    MaterialItem("tax_receipts", "LG-MAT-2", "对应税票"),
    MaterialItem("delivery_proof", "LG-MAT-2", "算力交付凭证"),  # 二(三): contract, invoices, delivery proof
    MaterialItem("usage_report", "LG-MAT-2", "算力使用报告（加盖公章）"),
    MaterialItem(
        "supplier_idc_isp_licence",
        "LG-MAT-2",
        "算力供给方增值电信业务经营许可证IDC/ISP（复印件）",
        _outside_catalogue,
        "算力供给方不是训力券入库服务机构时",
    ),
    MaterialItem(
        "supplier_capacity_proof",
        "LG-MAT-2",
        "算力供给方智能算力规模达到2000P FLOPS（FP16）以上的证明材料",
        _outside_catalogue,
        "算力供给方不是训力券入库服务机构时",
    ),
)

ITEMS = {item.key: item for item in CHECKLIST}
OUTSIDE_CATALOGUE_ITEMS = frozenset({"supplier_idc_isp_licence", "supplier_capacity_proof"})
"""Owed by a supplier not in the catalogue on the day of submission (四(二)3), lapsed entries included."""


def checklist_status(data: Mapping[str, Any], applicant_code: str | None = None) -> list[MaterialStatus]:
    return common.checklist_status(CHECKLIST, data, applicant_code)


def checklist_view(data: Mapping[str, Any], applicant_code: str | None = None, /) -> list[dict[str, Any]]:
    return common.checklist_view(CHECKLIST, data, applicant_code)
