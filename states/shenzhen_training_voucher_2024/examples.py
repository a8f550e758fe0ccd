"""The OpenAPI example of opening a voucher case (``ProcessDefinition.examples``), named by the round's key."""

from __future__ import annotations

from typing import Any

from .data import EXAMPLE
from .round import VoucherRound


def examples(round_: VoucherRound) -> dict[str, Any]:
    """A complete request: it opens a case that passes every submission rule inside the window."""
    return {
        round_.key: {
            "summary": f"{round_.year} Shenzhen training-compute voucher (rules SZ-*)",
            "description": "entity_type is enterprise, university or research_institute; the flags and declarations "
            "decide SZ-ELIG-1/2; each contract (at most 20) names a catalogued provider by its credit code, "
            "compute_rental or model_service, the amount and other fiscal funding as decimal strings (SZ-AMT-1, "
            "SZ-ELIG-3) and dates within the round (SZ-ELIG-5); is_sme, registered_on and annual_spend_cny "
            "decide the cap and start-up rate (SZ-AMT-2/3); materials map each SZ-MAT-1 item to provided or "
            "not_applicable.",
            "value": {
                "program": round_.key,
                "applicant": {
                    "name": "深圳市南山训力科技有限公司",
                    "code": "91440300778800123K",
                    "email": "voucher@example.cn",
                    "phone": "13900139000",
                },
                "data": EXAMPLE,
            },
        }
    }
